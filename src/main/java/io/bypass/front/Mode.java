package io.bypass.front;

/**
 * The front a request comes from. Fronts that start a container (hook, precreate, patch-bundle,
 * wrap) are audited, follow the site's onError, and use only a database root alone can change;
 * the others (check, match) answer an admin and always profile the rootfs, so that what they
 * print describes the container even when nothing applies.
 */
public enum Mode {
    HOOK("hook", true),
    PRECREATE("precreate", true),
    PATCH_BUNDLE("patch-bundle", true),
    WRAP("wrap", true),
    CHECK("check", false),
    MATCH("match", false);

    private final String id;
    private final boolean startsContainer;

    Mode(String id, boolean startsContainer) {
        this.id = id;
        this.startsContainer = startsContainer;
    }

    public String id() {
        return id;
    }

    /** Audited, onError honoured, database trust required. */
    public boolean startsContainer() {
        return startsContainer;
    }

    /** Profiles the rootfs even when the container opted out or nothing is registered. */
    public boolean wantsProfile() {
        return !startsContainer;
    }
}
