export APPTAINER_BIND='/usr/lib/x86_64-linux-gnu/libmpich.so.12.2.2:/usr/lib/x86_64-linux-gnu/libmpich.so.12.4.1:ro,/usr/lib/x86_64-linux-gnu/libucp.so.0.0.0:/opt/bypass/lib/libucp.so.0:ro'
export APPTAINERENV_LD_LIBRARY_PATH='/opt/bypass/lib'
export APPTAINERENV_FI_PROVIDER='cxi'
# device /dev/cxi0: bind it too (--bind /dev/cxi0:/dev/cxi0)
