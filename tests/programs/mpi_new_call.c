/* Like mpi_hello, but also calls MPI_Comm_attach_buffer, an MPI-4.1 function that MPICH 4.2
 * (Debian 13's libmpich.so.12.4.1) defines and MPICH 4.0 (Debian 12's libmpich.so.12.2.2) does
 * not: bypass must refuse to swap in the older host library under this program. */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
	char version[MPI_MAX_LIBRARY_VERSION_STRING];
	int len = 0;
	MPI_Get_library_version(version, &len);
	char *nl = strchr(version, '\n');
	if (nl)
		*nl = '\0';
	printf("library: %s\n", version);
	MPI_Init(&argc, &argv);
	static char buffer[1 << 16];
	int rc = MPI_Comm_attach_buffer(MPI_COMM_WORLD, buffer, (int)sizeof buffer);
	printf("attach_buffer: %d\n", rc);
	MPI_Finalize();
	return 0;
}
