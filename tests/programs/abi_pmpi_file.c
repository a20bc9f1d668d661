/*
 * A PMPI profiling wrapper, as tracing tools build them against the standard ABI: it interposes
 * MPI_File_close and forwards to PMPI_File_close. Linked with -z now (as hardened builds are), so
 * the loader binds PMPI_File_close when the program starts: on an MPI library that lacks it (MPICH
 * 5.0.2 defines MPI_File_close but not PMPI_File_close) the program does not start at all.
 */
#include <mpi.h>
#include <stdio.h>
#include <string.h>

static int closes;

int MPI_File_close(MPI_File *fh)
{
	closes++;
	return PMPI_File_close(fh);
}

int main(void)
{
	char version[MPI_MAX_LIBRARY_VERSION_STRING];
	int len = 0;
	MPI_Get_library_version(version, &len);
	char *nl = strchr(version, '\n');
	if (nl)
		*nl = '\0';
	printf("library: %s\n", version);
	printf("wrapper: MPI_File_close -> PMPI_File_close (%d calls)\n", closes);
	return 0;
}
