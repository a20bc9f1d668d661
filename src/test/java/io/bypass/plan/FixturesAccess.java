package io.bypass.plan;

import io.bypass.db.BundleEntry;
import io.bypass.db.BundleKind;
import io.bypass.db.RegisteredFile;

import java.util.List;
import java.util.Map;

/** Lets tests of other packages build database entries with the planner tests' fixtures. */
public final class FixturesAccess {
    private FixturesAccess() {
    }

    public static BundleEntry entry(String name, BundleKind kind, List<RegisteredFile> files, Map<String, String> props) {
        return Fixtures.entry(name, kind, files, props, List.of(), null);
    }
}
