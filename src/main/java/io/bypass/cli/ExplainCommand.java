package io.bypass.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.bypass.BypassException;
import io.bypass.ExitCodes;
import io.bypass.FindingCode;
import io.bypass.util.Json;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

@Command(name = "explain", description = "What a finding code means (the [CODE] of a refusal, the codes= of an audit "
        + "line): its severity, the rule that raises it and the fields of the decision it depends on, and what to do. "
        + "Without CODE, every code.")
final class ExplainCommand implements Callable<Integer> {
    @Parameters(paramLabel = "CODE", arity = "0..1", description = "a code, e.g. glibc-too-old (brackets are ignored)")
    String code;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        boolean json = Main.of(spec).json();
        if (code == null) {
            if (json) {
                ArrayNode arr = Json.array();
                for (FindingCode c : FindingCode.values()) {
                    arr.add(toJson(c));
                }
                out.print(Json.write(arr));
            } else {
                for (FindingCode c : FindingCode.values()) {
                    out.printf("%-26s %-8s %s%n", c.id(), c.severity().id(), c.meaning());
                }
            }
            return ExitCodes.OK;
        }
        String id = code.trim().replaceAll("^\\[|\\]$", "").toLowerCase(Locale.ROOT);
        FindingCode c = FindingCode.of(id);
        if (c == null) {
            List<String> ids = new ArrayList<>();
            for (FindingCode f : FindingCode.values()) {
                ids.add(f.id());
            }
            String best = Main.closest(id, ids);
            throw BypassException.badInput("no finding code '" + id + "'" + (best == null ? "" : "; did you mean '" + best + "'?")
                    + " (bypass explain lists them all)");
        }
        if (json) {
            out.print(Json.write(toJson(c)));
            return ExitCodes.OK;
        }
        out.println(c.id() + " (" + c.severity().id() + ")");
        out.println("  meaning:    " + c.meaning());
        out.println("  raised by:  " + c.rule());
        out.println("  what to do: " + c.action());
        return ExitCodes.OK;
    }

    private static ObjectNode toJson(FindingCode c) {
        ObjectNode o = Json.object();
        o.put("code", c.id());
        o.put("severity", c.severity().id());
        o.put("meaning", c.meaning());
        o.put("rule", c.rule());
        o.put("action", c.action());
        return o;
    }
}
