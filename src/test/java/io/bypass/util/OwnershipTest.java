package io.bypass.util;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.junit.jupiter.api.Assertions.assertEquals;

class OwnershipTest {
    /** uid_map lines as the kernel writes them (right-aligned columns), and odd spacing. */
    @ParameterizedTest(name = "[{index}] {1}")
    @CsvSource(delimiter = '|', value = {
            "'         0          0 4294967295\n'|0,0,4294967295",
            "'0 1000 1\n         1     100000  65536\n'|0,1000,1,1,100000,65536",
            "'\t 7\t'|7",
            "''|''",
    })
    void wordsSplitOnAnyWhitespace(String text, String expected) {
        assertEquals(expected, String.join(",", Ownership.words(text)));
    }
}
