package io.bypass.cli;

import org.junit.jupiter.api.Test;
import picocli.CommandLine;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * FastHook parses a hook's argv without picocli. Whatever it accepts, picocli must accept with the
 * same values, or a hooks.d file would mean one thing on the fast path and another on the slow
 * one; whatever picocli rejects, FastHook must leave to picocli (so the user gets its message).
 */
class FastHookParityTest {
    /** argv forms; the fast path must take the first group. */
    static final List<String> TAKEN = List.of(
            "hook",
            "--db /d hook",
            "--db=/d hook",
            "hook --db /d",
            "hook --db=/d",
            "--db /d hook --stage createRuntime",
            "--db /d hook --stage=prestart --state /s.json",
            "--config /c.json --db /d hook --stage createRuntime",
            "hook --config=/c.json --state=/s.json",
            "--debug hook",
            "hook --debug --db /d",
            "--db /d --debug hook --stage createRuntime");

    static final List<String> LEFT_TO_PICOCLI = List.of(
            "",
            "hook hook",
            "--db /a --db /b hook",
            "--db /a hook --db /b",
            "--state /s.json hook",
            "--stage x hook",
            "hook --help",
            "hook -h",
            "--help hook",
            "hook --json",
            "hook --db",
            "hook --state",
            "--db hook",
            "--db --debug hook",
            "hook --stage --debug",
            "hook --debug --debug",
            "hook extra",
            "hook --unknown",
            "--db= hook",
            "check --rootfs /",
            "hook --stage=a --stage=b");

    static String[] argv(String form) {
        return form.isEmpty() ? new String[0] : form.split(" ");
    }

    /** picocli's reading of a hook argv, as FastHook.Args; null when picocli rejects it or it is not `hook`. */
    static FastHook.Args picocli(String[] args) {
        Main main = new Main();
        CommandLine cl = new CommandLine(main);
        CommandLine.ParseResult pr;
        try {
            pr = cl.parseArgs(args);
        } catch (CommandLine.ParameterException e) {
            return null;
        }
        if (pr.isUsageHelpRequested() || !pr.hasSubcommand() || !pr.subcommand().commandSpec().name().equals("hook")) {
            return null;
        }
        CommandLine.ParseResult sub = pr.subcommand();
        if (sub.isUsageHelpRequested() || sub.hasSubcommand()) {
            return null;
        }
        HookCommand h = (HookCommand) sub.commandSpec().userObject();
        return new FastHook.Args(main.db, main.config, h.stateFile, h.stage, main.debug);
    }

    @Test
    void whatTheFastPathTakesPicocliReadsTheSameWay() {
        for (String form : TAKEN) {
            FastHook.Args fast = FastHook.parse(argv(form));
            assertNotNull(fast, "the fast path should take: " + form);
            FastHook.Args slow = picocli(argv(form));
            assertNotNull(slow, "picocli rejects what the fast path takes: " + form);
            assertEquals(slow, fast, form);
        }
    }

    @Test
    void whatPicocliRejectsOrTreatsOtherwiseIsLeftToIt() {
        List<String> wrong = new ArrayList<>();
        for (String form : LEFT_TO_PICOCLI) {
            FastHook.Args fast = FastHook.parse(argv(form));
            if (fast != null) {
                FastHook.Args slow = picocli(argv(form));
                if (!fast.equals(slow)) {
                    wrong.add(form + " (fast " + fast + ", picocli " + slow + ")");
                }
            }
        }
        if (!wrong.isEmpty()) {
            fail("the fast path takes forms picocli reads otherwise: " + wrong);
        }
        // And these must really leave the fast path: help and errors come from picocli.
        for (String form : List.of("hook --help", "hook hook", "--db /a --db /b hook", "hook --db", "hook extra")) {
            assertNull(FastHook.parse(argv(form)), form);
        }
    }

    @Test
    void valuesArePaths() {
        FastHook.Args a = FastHook.parse(argv("--db /d --config=/c hook --state /s --stage createRuntime"));
        assertEquals(new FastHook.Args(Path.of("/d"), Path.of("/c"), Path.of("/s"), "createRuntime", false), a);
    }
}
