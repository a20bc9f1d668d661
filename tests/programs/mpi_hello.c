/* Prints which MPI library it runs against, then initialises MPI as a singleton. */
#include <mpi.h>
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
	char version[MPI_MAX_LIBRARY_VERSION_STRING];
	int len = 0, rank = -1, size = -1;
	/* Callable before MPI_Init (MPI-3). */
	MPI_Get_library_version(version, &len);
	char *nl = strchr(version, '\n');
	if (nl)
		*nl = '\0';
	printf("library: %s\n", version);
	fflush(stdout);
	MPI_Init(&argc, &argv);
	MPI_Comm_rank(MPI_COMM_WORLD, &rank);
	MPI_Comm_size(MPI_COMM_WORLD, &size);
	printf("rank %d of %d\n", rank, size);
	MPI_Finalize();
	return 0;
}
