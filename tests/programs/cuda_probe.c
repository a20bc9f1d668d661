/* Loads the CUDA driver library the way the CUDA runtime does (dlopen libcuda.so.1) and prints
 * the CUDA version the driver reports: it finds the host driver only if bypass injected it. */
#include <dlfcn.h>
#include <stdio.h>

int main(void)
{
	void *cuda = dlopen("libcuda.so.1", RTLD_NOW);
	if (!cuda) {
		printf("no CUDA driver: %s\n", dlerror());
		return 1;
	}
	int (*get_version)(int *) = (int (*)(int *))dlsym(cuda, "cuDriverGetVersion");
	int version = 0;
	if (!get_version || get_version(&version) != 0) {
		printf("cuDriverGetVersion failed\n");
		return 1;
	}
	printf("cuda driver version: %d.%d\n", version / 1000, (version % 1000) / 10);
	return 0;
}
