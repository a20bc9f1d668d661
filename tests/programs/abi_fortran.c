/*
 * A standard-ABI program that also uses its MPI's Fortran bindings (libmpi_mpifh of Open MPI or
 * libmpichfort of MPICH), as mixed C/Fortran codes do. The MPI standard defines no Fortran ABI, so
 * those bindings belong to one vendor's MPI. The program asks both bindings which library they are
 * and fails when they disagree: then two MPI libraries are loaded in one process.
 */
#include <mpi.h>
#include <stdio.h>
#include <string.h>

/* gfortran's calling convention: arguments by reference, the CHARACTER length last. */
void mpi_get_library_version_(char *version, int *resultlen, int *ierror, size_t version_len);

static void first_line(char *s)
{
	char *nl = strchr(s, '\n');
	if (nl)
		*nl = '\0';
}

int main(void)
{
	char c_version[MPI_MAX_LIBRARY_VERSION_STRING], f_version[MPI_MAX_LIBRARY_VERSION_STRING + 1];
	int len = 0, ierr = 0;
	MPI_Get_library_version(c_version, &len);
	first_line(c_version);
	printf("library: %s\n", c_version);
	memset(f_version, ' ', sizeof f_version);
	mpi_get_library_version_(f_version, &len, &ierr, MPI_MAX_LIBRARY_VERSION_STRING);
	f_version[len >= 0 && len < MPI_MAX_LIBRARY_VERSION_STRING ? len : MPI_MAX_LIBRARY_VERSION_STRING] = '\0';
	first_line(f_version);
	printf("fortran library: %s\n", f_version);
	if (strcmp(c_version, f_version) != 0) {
		fprintf(stderr, "abi_fortran: the C and Fortran bindings are different MPI libraries\n");
		return 1;
	}
	return 0;
}
