/* Prints the version of the libfabric it runs against, and asks it for providers through
 * fi_getinfo, whose symbol version depends on the headers it was built with: built against
 * Debian 12's libfabric 1.17 it needs fi_getinfo@FABRIC_1.3, against Debian 13's 2.1
 * fi_getinfo@FABRIC_1.8, which the host's 1.17 does not define. */
#include <rdma/fabric.h>
#include <rdma/fi_errno.h>
#include <stdio.h>

int main(void)
{
	uint32_t v = fi_version();
	printf("libfabric: %u.%u\n", FI_MAJOR(v), FI_MINOR(v));
	struct fi_info *info = NULL;
	int rc = fi_getinfo(FI_VERSION(1, 5), NULL, NULL, 0, NULL, &info);
	printf("fi_getinfo: %s\n", rc == 0 ? "providers found" : fi_strerror(-rc));
	if (info)
		fi_freeinfo(info);
	return 0;
}
