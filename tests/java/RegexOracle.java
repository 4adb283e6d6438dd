// Java's own answer for the regex differential test (tests/java_regex_differential.rs):
// java.util.regex.Pattern, compiled and matched the way MirrorMaker 2 filters topic and group
// names (Pattern.compile(list).matcher(name).matches()).
//
// Reads lines "PATTERN_HEX NAME_HEX NAME_HEX ..." (UTF-8 bytes as hex, so any character fits)
// and prints one line per input line: "error" when Pattern.compile refuses the pattern,
// otherwise one 1/0 per name, whether the whole name matches.
//
// Run: java tests/java/RegexOracle.java < cases

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

public class RegexOracle {
    public static void main(String[] args) throws Exception {
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        StringBuilder out = new StringBuilder();
        String line;
        while ((line = in.readLine()) != null) {
            String[] fields = line.split(" ", -1);
            Pattern pattern;
            try {
                pattern = Pattern.compile(text(fields[0]));
            } catch (PatternSyntaxException e) {
                out.append("error\n");
                continue;
            }
            for (int i = 1; i < fields.length; i++) {
                out.append(pattern.matcher(text(fields[i])).matches() ? '1' : '0');
            }
            out.append('\n');
        }
        System.out.print(out);
    }

    private static String text(String hex) {
        return new String(HexFormat.of().parseHex(hex), StandardCharsets.UTF_8);
    }
}
