"""The JVM as the oracle for the parts of Flyway that are really Java's behaviour.

Flyway's checksum is `BufferedReader.readLine()` + `java.util.zip.CRC32` + an `(int)` cast, its version order is
`BigInteger` parts split at a dot followed by a digit, and its repeatable order is `String.compareTo`. A small Java
program does exactly those JDK calls (the steps of reference §1.3, §1.4, §3.1) on inputs hypothesis generates, and
ddl-cascade must agree with every answer. Inputs travel as hex so that CR, LF, BOMs and astral characters arrive
byte for byte.
"""

from __future__ import annotations

import shutil
import subprocess

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ddl_cascade.flyway import FlywayError, Version, checksum_text
from ddl_cascade.flyway.migrations import _utf16

ORACLE = r"""
import java.io.*;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.util.*;
import java.util.zip.CRC32;

public class FlywayOracle {
    static String unhex(String hex) {
        byte[] bytes = new byte[hex.length() / 2];
        for (int i = 0; i < bytes.length; i++) bytes[i] = (byte) Integer.parseInt(hex.substring(2 * i, 2 * i + 2), 16);
        return new String(bytes, StandardCharsets.UTF_8);
    }

    // Flyway's ChecksumCalculator: readLine(), BOM dropped from the first line, UTF-8 of each line into one CRC32.
    static int checksum(String text) throws IOException {
        BufferedReader reader = new BufferedReader(new StringReader(text));
        CRC32 crc = new CRC32();
        String line = reader.readLine();
        boolean first = true;
        while (line != null) {
            if (first && line.startsWith("\ufeff")) line = line.substring(1);
            first = false;
            crc.update(line.getBytes(StandardCharsets.UTF_8));
            line = reader.readLine();
        }
        return (int) crc.getValue();
    }

    // MigrationVersion: '_' -> '.', split at a dot followed by a digit, BigInteger parts, trailing zeros dropped.
    static List<BigInteger> version(String text) {
        List<BigInteger> parts = new ArrayList<>();
        for (String part : text.replace('_', '.').split("\\.(?=\\d)")) parts.add(new BigInteger(part));
        for (int i = parts.size() - 1; i > 0 && parts.get(i).equals(BigInteger.ZERO); i--) parts.remove(i);
        return parts;
    }

    static int compareVersions(List<BigInteger> a, List<BigInteger> b) {
        for (int i = 0; i < Math.max(a.size(), b.size()); i++) {
            BigInteger x = i < a.size() ? a.get(i) : BigInteger.ZERO;
            BigInteger y = i < b.size() ? b.get(i) : BigInteger.ZERO;
            int c = x.compareTo(y);
            if (c != 0) return c;
        }
        return 0;
    }

    public static void main(String[] args) throws IOException {
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        String request;
        while ((request = in.readLine()) != null) {
            String[] f = request.split(" ", -1);
            switch (f[0]) {
                case "checksum":
                    System.out.println(checksum(unhex(f[1])));
                    break;
                case "version":
                    try {
                        List<BigInteger> a = version(unhex(f[1])), b = version(unhex(f[2]));
                        System.out.println(Integer.signum(compareVersions(a, b)));
                    } catch (NumberFormatException e) {
                        System.out.println("invalid");
                    }
                    break;
                case "compare":
                    System.out.println(Integer.signum(unhex(f[1]).compareTo(unhex(f[2]))));
                    break;
                default:
                    throw new IllegalArgumentException(f[0]);
            }
        }
    }
}
"""


@pytest.fixture(scope="module")
def oracle(tmp_path_factory):
    javac, java = shutil.which("javac"), shutil.which("java")
    if javac is None or java is None:
        pytest.skip("no JDK on this machine to act as the oracle")
    folder = tmp_path_factory.mktemp("java-oracle")
    (folder / "FlywayOracle.java").write_text(ORACLE)
    subprocess.run([javac, "FlywayOracle.java"], cwd=folder, check=True, capture_output=True, timeout=300)

    def ask(requests: list[str]) -> list[str]:
        proc = subprocess.run([java, "-cp", str(folder), "FlywayOracle"], input="\n".join(requests) + "\n",
                              capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr
        return proc.stdout.split()

    return ask


def _hex(text: str) -> str:
    return text.encode("utf-8").hex()


# Text as migrations have it, plus the awkward parts: every kind of line end, BOMs anywhere, astral characters.
LINE_TEXT = st.text(
    alphabet=st.one_of(
        st.sampled_from(["\n", "\r", "\ufeff", "\u2028", "\x85", "é", "😀", " ", "\t", ";", "$"]),
        st.characters(blacklist_categories=("Cs",)),
    ),
    max_size=60,
)
SLOW = settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@SLOW
@given(st.lists(LINE_TEXT, min_size=100, max_size=150))
def test_checksum_agrees_with_java(oracle, texts):
    assert oracle([f"checksum {_hex(t)}" for t in texts]) == [str(checksum_text(t)) for t in texts]


VERSIONISH = st.text(alphabet="0123456789._", min_size=1, max_size=12)


def _ours(a: str, b: str) -> str:
    try:
        va, vb = Version(a), Version(b)
    except FlywayError:
        return "invalid"
    return str((va > vb) - (va < vb))


@SLOW
@given(st.lists(st.tuples(VERSIONISH, VERSIONISH), min_size=150, max_size=200))
def test_version_validity_and_order_agree_with_java(oracle, pairs):
    answers = oracle([f"version {_hex(a)} {_hex(b)}" for a, b in pairs])
    assert answers == [_ours(a, b) for a, b in pairs]


@SLOW
@given(st.lists(st.tuples(LINE_TEXT, LINE_TEXT), min_size=150, max_size=200))
def test_description_order_is_java_string_compare(oracle, pairs):
    answers = oracle([f"compare {_hex(a)} {_hex(b)}" for a, b in pairs])
    assert answers == [str((_utf16(a) > _utf16(b)) - (_utf16(a) < _utf16(b))) for a, b in pairs]


def test_fixed_vectors_agree_with_java(oracle):
    texts = ["", "\n\n", "SELECT 1;", "\ufeffSELECT 1;\n", "a\rb", "a\r\n\rb", "\ufeff\ufeffx", "x\n\ufeffy",
             "-- ü\nselect 1;\n", "a\u2028b", "a\x85b"]
    assert oracle([f"checksum {_hex(t)}" for t in texts]) == [str(checksum_text(t)) for t in texts]
    pairs = [("1", "1.0"), ("1.01", "1.1"), ("1.10", "1.9"), ("2", "1.999"), ("1..2", "1"), ("1.", "1"),
             ("_1", "1"), ("1__2", "1"), ("007", "7.0.0")]
    assert oracle([f"version {_hex(a)} {_hex(b)}" for a, b in pairs]) == [_ours(a, b) for a, b in pairs]
