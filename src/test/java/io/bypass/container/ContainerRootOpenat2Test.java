package io.bypass.container;

class ContainerRootOpenat2Test extends ContainerRootContract {
    @Override
    ContainerRoot.Resolver resolver() {
        return ContainerRoot.Resolver.OPENAT2;
    }
}
