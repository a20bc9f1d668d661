package io.bypass.front;

import io.bypass.Engine;
import io.bypass.Finding;
import io.bypass.plan.Plan;

import java.util.ArrayList;
import java.util.List;

/**
 * The answer of {@link Front#decide}: a verdict with its findings (catalog codes only), the plan
 * and what it was based on.
 *
 * @param plan    the plan; for a short cut (opted out, already applied, nothing registered,
 *                skipped error) a plan with verdict NONE, no edits and the finding saying why
 * @param result  the profile and bundles the plan came from, or null for a short cut
 * @param skipped the front could not decide or apply, and the site's onError said to start the
 *                container untouched; the finding carries the error's code and message
 * @param cacheNote how the node's decision cache served the hook ("cache=hit", ...), or null
 * @param sources the registered files the plan mounts with their registered size and mtime (from
 *                the cache entry on a hit), or null to take them from the bundles
 * @param unchecked a cache hit's container files the apply step must re-check before it changes
 *                anything (the hook's helper does, in the run that mounts), or null
 */
public record Decision(Plan plan, Engine.Result result, boolean skipped, String cacheNote,
                       List<io.bypass.db.Verifier.Source> sources, io.bypass.cache.Expectations unchecked) {

    public Decision(Plan plan, Engine.Result result, boolean skipped) {
        this(plan, result, skipped, null, null, null);
    }

    static Decision shortCut(Finding why) {
        return new Decision(new Plan(Plan.Verdict.NONE, List.of(why), List.of(), List.of(), List.of(), List.of(), null),
                null, false);
    }

    static Decision skipped(Finding error) {
        return new Decision(new Plan(Plan.Verdict.NONE, List.of(error), List.of(), List.of(), List.of(), List.of(), null),
                null, true);
    }

    public Plan.Verdict verdict() {
        return plan.verdict();
    }

    public boolean refused() {
        return plan.refused();
    }

    public List<Finding> findings() {
        return plan.findings();
    }

    public List<String> codes() {
        List<String> out = new ArrayList<>();
        for (Finding f : plan.findings()) {
            out.add(f.code());
        }
        return out;
    }

    public Finding firstError() {
        return plan.firstError();
    }

    /** What a refused container start shows. */
    public String refusalLine() {
        return plan.firstError().refusalLine();
    }
}
