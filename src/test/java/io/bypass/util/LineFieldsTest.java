package io.bypass.util;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class LineFieldsTest {

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
            "/usr/lib/libx.so|/usr/lib/libx.so",
            "/with space/x|/with%20space/x",
            "/100%/x|/100%25/x",
            "/tab\there|/tab%09here",
            "/é|/é",
            "/x~y+z=@!|/x~y+z=@!",
            "/del\u007f|/del%7F",
            "/a\u0001b|/a%01b",
    })
    void encodesWhatWouldBreakALineAndDecodesItBack(String path, String encoded) {
        assertEquals(encoded, LineFields.encode(path));
        assertEquals(path, LineFields.decode(encoded));
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
            "/with%20space|/with space",
            "/%C3%A9|/é",
    })
    void decodesEitherCaseAndAnyByte(String field, String path) {
        assertEquals(path, LineFields.decode(field));
    }

    @Test
    void aNewlineIsEscapedInEitherCase() {
        assertEquals("/new%0Aline", LineFields.encode("/new\nline"));
        assertEquals("/new\nline", LineFields.decode("/new%0aline"));
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"/a%", "/a%2", "/a%zz", "/a%00", "/a%g0"})
    void refusesABadEscape(String field) {
        assertThrows(IllegalArgumentException.class, () -> LineFields.decode(field));
    }
}
