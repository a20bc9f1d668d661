/* Like mpi_hello, but also calls MPI_Comm_attach_buffer, an MPI-4.1 function that MPICH 4.2.1
 * (Debian 13's libmpich.so.12.4.1) defines and MPICH 4.0.2 (Debian 12's libmpich.so.12.2.2) does
 * not: bypass must refuse to swap the older host library in under this program.
 * Chosen by comparing `nm -D --defined-only` of the two libraries (MPI_* symbols defined in
 * 12.4.1 and not in 12.2.2); the name is also in NEW_SYMBOL. MPICH 3.4 lacks it too, so
 * build-programs.sh builds this program only where the rootfs' libmpich defines it. */
#include <mpi.h>
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
	char version[MPI_MAX_LIBRARY_VERSION_STRING];
	int len = 0, rank = -1, size = -1;
	static char buffer[1 << 16];

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
	int rc = MPI_Comm_attach_buffer(MPI_COMM_WORLD, buffer, (int)sizeof buffer);
	printf("attach_buffer: %d\n", rc);
	fflush(stdout);
	MPI_Finalize();
	return 0;
}
