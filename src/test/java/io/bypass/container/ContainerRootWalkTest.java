package io.bypass.container;

class ContainerRootWalkTest extends ContainerRootContract {
    @Override
    ContainerRoot.Resolver resolver() {
        return ContainerRoot.Resolver.WALK;
    }
}
