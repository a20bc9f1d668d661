package io.bypass.front;

import io.bypass.oci.OciConfig;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * What a front asks about one container.
 *
 * @param mode           the front
 * @param stage          the runtime stage (createRuntime, precreate...), or null: the mode's id is used
 * @param containerId    the container's id where the runtime gives one, else null
 * @param rootfs         the container's root file system on the host
 * @param annotations    the container's annotations (the runtime's state over its config's)
 * @param env            the container's process environment
 * @param args           the container's process arguments (may be empty)
 * @param exec           the program whose imports decide, or null for args[0]
 * @param alreadyApplied the config carries the mark of an earlier precreate or patch-bundle edit
 */
public record Request(Mode mode, String stage, String containerId, Path rootfs, Map<String, String> annotations,
                      Map<String, String> env, List<String> args, String exec, boolean alreadyApplied) {

    public Request {
        annotations = Map.copyOf(annotations);
        env = Map.copyOf(env);
        args = List.copyOf(args);
    }

    /** A container described by its runtime config (hook, precreate, patch-bundle). */
    public static Request ofConfig(Mode mode, String stage, String containerId, OciConfig config,
                                   Map<String, String> annotations, boolean alreadyApplied) {
        return new Request(mode, stage, containerId, config.rootfs(), annotations, config.env(), config.args(), null,
                alreadyApplied);
    }

    /** A rootfs with what the command line says of it (check, wrap, match, train). */
    public static Request ofRootfs(Mode mode, Path rootfs, Map<String, String> annotations, Map<String, String> env,
                                   String exec) {
        return new Request(mode, null, null, rootfs, annotations, env, List.of(), exec, false);
    }

    /** The program whose imports are checked: --exec, else process.args[0], else none. */
    public String program() {
        return exec != null ? exec : args.isEmpty() ? null : args.get(0);
    }

    /** The stage for the audit log: the runtime's, else the front's name. */
    public String stageOrMode() {
        return stage != null ? stage : mode.id();
    }
}
