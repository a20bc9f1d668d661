package io.bypass.plan;

import io.bypass.BypassException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.HashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class NvidiaRequireTest {

    /** expression | CUDA | driver | brand | expected: ok, or the quoted term, or invalid */
    @ParameterizedTest(name = "[{0}] cuda {1} driver {2} brand {3} -> {4}")
    @CsvSource(delimiter = '|', value = {
            "cuda>=11.0 brand=tesla,driver>=418,driver<419 | 10.1 | 418.87.01  | Tesla   | ok",
            "cuda>=11.0 brand=tesla,driver>=418,driver<419 | 10.1 | 418.87.01  | GeForce | cuda>=11.0",
            "cuda>=11.0 brand=tesla,driver>=418,driver<419 | 11.2 | 460.27.03  | GeForce | ok",
            "driver=418                                    | 10.1 | 418.87.01  | Tesla   | driver=418",
            "driver=418.87.1                               | 10.1 | 418.87.01  | Tesla   | ok",
            "driver>=535.104.5                             | 12.2 | 535.104.05 | Tesla   | ok",
            "driver>535.104.5                              | 12.2 | 535.104.05 | Tesla   | driver>535.104.5",
            "cuda>=12.0                                    | 12.2 | 535.104.05 | Tesla   | ok",
            "cuda=12.2.0                                   | 12.2 | 535.104.05 | Tesla   | ok",
            "cuda<12                                       | 12.2 | 535.104.05 | Tesla   | cuda<12",
            "CUDA>=12.0                                    | 12.2 | 535.104.05 | Tesla   | ok",
            "brand=TESLA                                   | 12.2 | 535.104.05 | tesla   | ok",
            "brand!=geforce                                | 12.2 | 535.104.05 | Tesla   | ok",
            "brand==tesla                                  | 12.2 | 535.104.05 | Tesla   | ok",
            "brand>=tesla                                  | 12.2 | 535.104.05 | Tesla   | invalid",
            "cuda>=11.0 foo=bar                            | 12.2 | 535.104.05 | Tesla   | ok",
            "foo=bar cuda>=11.0                            | 12.2 | 535.104.05 | Tesla   | invalid",
            "cuda>=13.0 foo=bar                            | 12.2 | 535.104.05 | Tesla   | invalid",
            "driver<400,foo=bar                            | 12.2 | 535.104.05 | Tesla   | driver<400,foo=bar",
            "cuda>=abc                                     | 12.2 | 535.104.05 | Tesla   | invalid",
            "cuda                                          | 12.2 | 535.104.05 | Tesla   | invalid",
            "'  cuda>=12.0   '                             | 12.2 | 535.104.05 | Tesla   | ok",
            "arch>=7.0                                     | 12.2 | 535.104.05 | Tesla   | arch>=7.0",
    })
    void expressions(String expression, String cuda, String driver, String brand, String expected) {
        Map<String, String> env = Map.of("NVIDIA_REQUIRE_CUDA", expression);
        NvidiaRequire.Host host = new NvidiaRequire.Host(cuda, driver, brand, null);
        if (expected.equals("invalid")) {
            BypassException e = assertThrows(BypassException.class, () -> NvidiaRequire.check(env, host));
            assertTrue(e.getMessage().startsWith("NVIDIA_REQUIRE_CUDA: invalid expression"), e.getMessage());
            return;
        }
        NvidiaRequire.Result r = NvidiaRequire.check(env, host);
        if (expected.equals("ok")) {
            assertTrue(r.satisfied(), () -> r.message());
        } else {
            assertFalse(r.satisfied());
            assertEquals(expected, r.term());
        }
    }

    @Test
    void refusalQuotesTheTermAndAsksForADriverUpdate() {
        NvidiaRequire.Result r = NvidiaRequire.check(Map.of("NVIDIA_REQUIRE_CUDA", "cuda>=11.0 brand=tesla,driver>=418,driver<419"),
                new NvidiaRequire.Host("10.1", "418.87.01", "GeForce", null));
        assertTrue(r.message().contains("'cuda>=11.0'"), r.message());
        assertTrue(NvidiaRequire.hint(r).contains("update the host's NVIDIA driver"));
    }

    @Test
    void severalVariablesAreAnded() {
        Map<String, String> env = new HashMap<>();
        env.put("NVIDIA_REQUIRE_CUDA", "cuda>=11.0");
        env.put("NVIDIA_REQUIRE_DRIVER", "driver>=600");
        NvidiaRequire.Result r = NvidiaRequire.check(env, new NvidiaRequire.Host("12.2", "535.104.05", "Tesla", null));
        assertFalse(r.satisfied());
        assertEquals("NVIDIA_REQUIRE_DRIVER", r.variable());
    }

    @ParameterizedTest(name = "NVIDIA_DISABLE_REQUIRE={0} -> {1}")
    @CsvSource({"1, true", "t, true", "T, true", "TRUE, true", "true, true", "True, true",
            "0, false", "f, false", "false, false", "yes, false", "tRuE, false"})
    void disableRequireUsesGoParseBool(String value, boolean disabled) {
        Map<String, String> env = Map.of("NVIDIA_REQUIRE_CUDA", "cuda>=99", "NVIDIA_DISABLE_REQUIRE", value);
        assertEquals(disabled, NvidiaRequire.check(env, new NvidiaRequire.Host("12.2", "535.104.05", null, null)).satisfied());
    }

    @ParameterizedTest(name = "CUDA_VERSION={0} on CUDA {1} -> {2}")
    @CsvSource({"12.2.0, 12.2, true", "12.4.1, 12.2, false", "11.8.0, 12.2, true", "12, 12.2, true"})
    void cudaVersionAloneImpliesCudaAtLeastMajorMinor(String cudaVersion, String hostCuda, boolean ok) {
        NvidiaRequire.Result r = NvidiaRequire.check(Map.of("CUDA_VERSION", cudaVersion),
                new NvidiaRequire.Host(hostCuda, "535.104.05", null, null));
        assertEquals(ok, r.satisfied());
        if (!ok) {
            assertEquals("cuda>=12.4", r.term());
        }
    }

    @Test
    void requireCudaWinsOverCudaVersion() {
        Map<String, String> env = Map.of("CUDA_VERSION", "12.4.1", "NVIDIA_REQUIRE_CUDA", "cuda>=12.0");
        assertTrue(NvidiaRequire.check(env, new NvidiaRequire.Host("12.2", "535.104.05", null, null)).satisfied());
    }
}
