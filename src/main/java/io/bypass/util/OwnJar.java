package io.bypass.util;

import java.net.URISyntaxException;
import java.nio.file.Path;
import java.security.CodeSource;

/** Where bypass' own classes were loaded from. */
public final class OwnJar {
    private OwnJar() {
    }

    /**
     * The file bypass' classes come from (its jar, or the classes directory of a build); null when
     * they were not loaded from a file (a native image).
     */
    public static Path path() throws URISyntaxException {
        CodeSource cs = OwnJar.class.getProtectionDomain().getCodeSource();
        if (cs == null || cs.getLocation() == null || !"file".equals(cs.getLocation().getProtocol())) {
            return null;
        }
        return Path.of(cs.getLocation().toURI());
    }
}
