package io.bypass.front;

import io.bypass.BypassException;
import io.bypass.Engine;
import io.bypass.Finding;
import io.bypass.FindingCode;
import io.bypass.apply.HookApplier;
import io.bypass.cache.CachedDecision;
import io.bypass.config.Audit;
import io.bypass.config.SiteConfig;
import io.bypass.db.Verifier;
import io.bypass.plan.OptOut;
import io.bypass.plan.Plan;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;

/**
 * The one decision path. Every front (hook, precreate, patch-bundle, wrap, check, match, train)
 * builds a {@link Request}, calls {@link #decide} and renders the {@link Decision}; CDI specs use
 * the same {@link Site}. Here, in this order: opt-out, database existence and trust, profile → plan
 * under the site's policy, the freshness check of the files to mount, the front's apply step, the
 * audit line and the site's onError.
 */
public final class Front {
    private Front() {
    }

    /**
     * The front's own edit: the hook mounts, precreate and patch-bundle rewrite the config. Called
     * for INJECT and REFUSE verdicts (a config front writes a refusal into the config too). Its
     * errors follow onError like the decision's own.
     */
    @FunctionalInterface
    public interface Apply {
        void apply(Decision decision);
    }

    public static Decision decide(Site site, Request request) {
        return decide(site, request, null);
    }

    public static Decision decide(Site site, Request request, Apply apply) {
        return decide(site, request.mode(), request.stageOrMode(), request.containerId(), () -> request, apply);
    }

    /**
     * The form for fronts whose request is read from the container (config.json): a request that
     * cannot be read is an error of the decision, audited and under onError like any other.
     */
    public static Decision decide(Site site, Mode mode, String stage, String containerId, Supplier<Request> request,
                                  Apply apply) {
        return decide(site, mode, stage, containerId, request, apply, null);
    }

    /**
     * @param checker how a hit of the decision cache re-checks its files (HOOK mode; null: in this
     *                JVM). The hook's is its mount helper, so that a hit never loads JNA.
     */
    public static Decision decide(Site site, Mode mode, String stage, String containerId, Supplier<Request> request,
                                  Apply apply, CachedDecision.Checker checker) {
        long start = System.nanoTime();
        List<String> bundles = List.of();
        try {
            Decision d = decideAndApply(site, request.get(), apply, checker);
            bundles = d.plan().bundles();
            if (mode.startsContainer()) {
                String detail = d.refused() ? d.firstError().message() : d.verdict() == Plan.Verdict.INJECT
                        ? d.plan().mounts().size() + " mounts, " + d.plan().devices().size() + " devices" : null;
                if (d.cacheNote() != null) {
                    detail = detail == null ? d.cacheNote() : detail + "; " + d.cacheNote();
                }
                audit(site.config(), stage, containerId, d.plan().bundles(), d.verdict().id(), d.codes(), start, detail);
            }
            return d;
        } catch (BypassException | IllegalArgumentException | IllegalStateException | UnsupportedOperationException e) {
            FindingCode code = e instanceof HookApplier.PartialApply ? FindingCode.APPLY_FAILED
                    : e instanceof BypassException be ? be.code() : FindingCode.INTERNAL_ERROR;
            if (!mode.startsContainer()) {
                throw e;
            }
            boolean skip = site.config().onError() == SiteConfig.OnError.SKIP && !(e instanceof HookApplier.PartialApply);
            audit(site.config(), stage, containerId, bundles, skip ? "error-skipped" : "error", List.of(code.id()), start,
                    e.getMessage());
            if (skip) {
                // The site prefers the container to start without bypass over not starting.
                return Decision.skipped(Finding.error(code.id(), String.valueOf(e.getMessage()), code.action()));
            }
            throw e;
        }
    }

    private static Decision decideAndApply(Site site, Request req, Apply apply, CachedDecision.Checker checker) {
        Mode mode = req.mode();
        // What the container asks for comes first: a container that opts out, or whose config an
        // earlier front already edited, costs no more than reading its config.
        if (!mode.wantsProfile()) {
            if (OptOut.optedOut(req.annotations())) {
                return Decision.shortCut(Finding.info(FindingCode.DISABLED.id(),
                        "org.supercontainers.bypass.enabled=false: nothing injected"));
            }
            if (req.alreadyApplied()) {
                return Decision.shortCut(Finding.info(FindingCode.ALREADY_APPLIED.id(),
                        "the config was already edited by bypass; nothing more to do"));
            }
        }
        site.requireDatabase(mode);
        // Nothing registered: nothing can apply, and nothing else needs reading.
        if (!mode.wantsProfile() && site.noBundles()) {
            return Decision.shortCut(Finding.info(FindingCode.NOTHING_TO_INJECT.id(),
                    "no bundle is registered in " + site.database().dir()));
        }
        Decision d;
        if (mode == Mode.HOOK) {
            d = cached(site, req, checker);
        } else {
            // --exec names the program; otherwise the container's whole command line is read.
            List<String> args = req.exec() != null ? List.of(req.exec()) : req.args();
            Engine.Result r = Engine.decide(site.database(), req.rootfs(), req.annotations(), req.env(), args,
                    mode == Mode.CHECK, site.policy());
            d = new Decision(r.plan(), r, false);
        }
        try {
            return settle(site, mode, d, apply);
        } catch (HookApplier.StaleEntry stale) {
            // A cache hit whose files changed since its entry was written: the helper checked them
            // first and did nothing. Decide again, now checking every entry before it is used (a
            // decision without unchecked files, so this cannot come back), and settle that.
            CachedDecision.Checker now = checker::problem;
            return settle(site, mode, cached(site, req, now), apply);
        }
    }

    /** What follows every decision: the site's onError for a budget-stopped profile, the freshness check, the apply. */
    private static Decision settle(Site site, Mode mode, Decision d, Apply apply) {
        if (d.refused() && mode.startsContainer() && FindingCode.PROFILE_BUDGET.id().equals(d.firstError().code())
                && site.config().onError() == SiteConfig.OnError.SKIP) {
            // Not a verdict on the image but bypass giving up on it: the site's onError decides.
            throw new BypassException(io.bypass.ExitCodes.REFUSED, d.firstError().message()).withCode(FindingCode.PROFILE_BUDGET);
        }
        if (d.verdict() == Plan.Verdict.INJECT) {
            requireFresh(d);
        }
        if (apply != null && d.verdict() != Plan.Verdict.NONE) {
            try {
                apply.apply(d);
            } catch (HookApplier.StaleEntry | HookApplier.PartialApply e) {
                // Stale: nothing was done, the caller decides again. Half applied: never skipped
                // (the container must not start half-edited). Both kept as they are.
                throw e;
            } catch (BypassException e) {
                throw e.withCode(FindingCode.APPLY_FAILED);
            }
        }
        return d;
    }

    /**
     * The hook's decision through the node's decision cache (docs/cache.md): a hit reads no
     * database entry and parses no ELF file; the freshness check and the apply run as for a fresh
     * decision.
     */
    private static Decision cached(Site site, Request req, CachedDecision.Checker checker) {
        CachedDecision.Decision c = CachedDecision.decide(site.database(), site.takeDatabaseListing(), site.configFile(),
                new CachedDecision.Request(req.rootfs(), req.annotations(), req.env(), req.args(), req.stageOrMode(),
                        req.mode().id(), site.policy()), System.getenv(), checker);
        return new Decision(c.plan(), new Engine.Result(c.profile(), c.plan(), List.of()), false, c.auditNote(), c.sources(),
                c.unchecked());
    }

    /** Every file to be mounted is still the one registered (size, mtime): the host may have been updated. */
    private static void requireFresh(Decision d) {
        List<Verifier.Problem> stale;
        if (d.sources() != null) {
            stale = Verifier.quickCheckSources(d.sources());
        } else {
            List<String> sources = new ArrayList<>();
            d.plan().mounts().forEach(m -> sources.add(m.source()));
            stale = Verifier.quickCheck(d.result().bundles(), sources);
        }
        if (!stale.isEmpty()) {
            Verifier.Problem p = stale.get(0);
            throw BypassException.badInput(FindingCode.STALE_FILE, "registered file " + p.path() + " of bundle " + p.bundle()
                    + " " + p.problem() + "; the admin must run `bypass db register` for it again");
        }
    }

    private static void audit(SiteConfig config, String stage, String containerId, List<String> bundles,
                              String verdict, List<String> codes, long start, String detail) {
        long ms = (System.nanoTime() - start) / 1_000_000;
        String problem = Audit.record(config, new Audit.Decision(containerId == null ? "-" : containerId, stage, bundles,
                verdict, codes, ms, detail));
        if (problem != null) {
            System.err.println("bypass: warning: " + problem);
        }
    }
}
