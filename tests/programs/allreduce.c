/* The ranks of one MPI job exchange a message: every rank contributes rank + 1 to an
 * MPI_Allreduce(MPI_SUM), so a world of N ranks must see N * (N + 1) / 2 on every rank.
 * Prints, per rank:
 *   library: <first line of MPI_Get_library_version>
 *   rank R of N: allreduce sum S (expected E)
 * and exits 1 when the sum is wrong, so a run of ranks that did not find each other (singletons:
 * "rank 0 of 1", sum 1) is not mistaken for a job. */
#include <mpi.h>
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
	char version[MPI_MAX_LIBRARY_VERSION_STRING];
	int len = 0, rank = -1, size = -1;
	long mine, sum = -1, expected;

	MPI_Get_library_version(version, &len);
	char *nl = strchr(version, '\n');
	if (nl)
		*nl = '\0';
	MPI_Init(&argc, &argv);
	MPI_Comm_rank(MPI_COMM_WORLD, &rank);
	MPI_Comm_size(MPI_COMM_WORLD, &size);
	mine = rank + 1;
	MPI_Allreduce(&mine, &sum, 1, MPI_LONG, MPI_SUM, MPI_COMM_WORLD);
	expected = (long)size * (size + 1) / 2;
	/* One write per rank, so the lines of concurrent ranks do not interleave. */
	printf("library: %s\nrank %d of %d: allreduce sum %ld (expected %ld)\n", version, rank, size, sum, expected);
	fflush(stdout);
	MPI_Finalize();
	return sum == expected ? 0 : 1;
}
