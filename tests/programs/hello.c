#include <stdio.h>

int main(void)
{
	puts("hello from a container without MPI");
	return 0;
}
