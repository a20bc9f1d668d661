/*
 * A standard-ABI program that still uses MPI_Attr_get, deleted in MPI-4 and absent from Open MPI
 * 6's libmpi_abi (MPICH 5 still exports it). Linked with -z now, so on a library without it the
 * program does not start. It reads MPI_TAG_UB of MPI_COMM_WORLD as a singleton.
 */
#include <mpi.h>
#include <stdio.h>
#include <string.h>

int MPI_Attr_get(MPI_Comm comm, int keyval, void *attribute_val, int *flag);

int main(int argc, char **argv)
{
	char version[MPI_MAX_LIBRARY_VERSION_STRING];
	int len = 0, flag = 0, *tag_ub = NULL;
	MPI_Get_library_version(version, &len);
	char *nl = strchr(version, '\n');
	if (nl)
		*nl = '\0';
	printf("library: %s\n", version);
	fflush(stdout);
	MPI_Init(&argc, &argv);
	MPI_Attr_get(MPI_COMM_WORLD, MPI_TAG_UB, &tag_ub, &flag);
	printf("MPI_TAG_UB: %s\n", flag && tag_ub ? "set" : "unset");
	MPI_Finalize();
	return 0;
}
