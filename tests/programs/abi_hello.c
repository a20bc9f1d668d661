/*
 * A program built against the MPI-5 standard ABI (the standard mpi.h, linked with -lmpi_abi):
 * prints the library it runs against and the ABI version that library reports. Both calls are
 * allowed before MPI_Init, so it needs no launcher.
 */
#include <mpi.h>
#include <stdio.h>
#include <string.h>

int main(void)
{
	char version[MPI_MAX_LIBRARY_VERSION_STRING];
	int len = 0, major = -1, minor = -1;
	MPI_Get_library_version(version, &len);
	char *nl = strchr(version, '\n');
	if (nl)
		*nl = '\0';
	printf("library: %s\n", version);
	MPI_Abi_get_version(&major, &minor);
	printf("abi: %d.%d (built against %d.%d)\n", major, minor, MPI_ABI_VERSION, MPI_ABI_SUBVERSION);
	return 0;
}
