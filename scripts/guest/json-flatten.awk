# Flattens one JSON document into "path=value" lines for a shell without a JSON parser
# (the sandnet test guest has busybox only). Objects add ".key", arrays ".index", and
# every array also prints "path.#=count". Strings are unescaped (\/ \" \\ \n \t; \uXXXX
# becomes "?"), numbers and true/false/null are printed as written. Formatting and key
# order do not matter. On malformed input: "json-flatten: <reason> at offset N" on stderr, exit 1.
#   busybox awk -f json-flatten.awk guest.json
{ doc = doc $0 "\n" }
END {
    n = length(doc); i = 1
    value("")
    skip()
    if (i <= n) fail("trailing characters")
    exit 0
}
function fail(why) { printf "json-flatten: %s at offset %d\n", why, i > "/dev/stderr"; exit 1 }
function skip() { while (i <= n && index(" \t\r\n", substr(doc, i, 1)) > 0) i++ }
function join(path, key) { return path == "" ? key : path "." key }
function str(   out, c) {
    i++
    out = ""
    while (i <= n) {
        c = substr(doc, i, 1)
        if (c == "\"") { i++; return out }
        if (c == "\\") {
            i++; c = substr(doc, i, 1)
            if (c == "n") c = "\n"
            else if (c == "t") c = "\t"
            else if (c == "r" || c == "b" || c == "f") c = ""
            else if (c == "u") { i += 4; c = "?" }
        }
        out = out c; i++
    }
    fail("unterminated string")
}
function value(path,   c, key, count) {
    skip(); c = substr(doc, i, 1)
    if (c == "{") {
        i++; skip()
        if (substr(doc, i, 1) == "}") { i++; return }
        while (1) {
            skip()
            if (substr(doc, i, 1) != "\"") fail("expected a key")
            key = str(); skip()
            if (substr(doc, i, 1) != ":") fail("expected ':'")
            i++
            value(join(path, key))
            skip(); c = substr(doc, i, 1); i++
            if (c == "}") return
            if (c != ",") fail("expected ',' or '}'")
        }
    }
    if (c == "[") {
        i++; skip(); count = 0
        if (substr(doc, i, 1) != "]") {
            while (1) {
                value(join(path, count)); count++
                skip(); c = substr(doc, i, 1); i++
                if (c == "]") break
                if (c != ",") fail("expected ',' or ']'")
            }
        } else i++
        print join(path, "#") "=" count
        return
    }
    if (c == "\"") { print path "=" str(); return }
    if (match(substr(doc, i, 40), /^(-?[0-9][0-9.eE+-]*|true|false|null)/)) {
        print path "=" substr(doc, i, RLENGTH); i += RLENGTH; return
    }
    fail("unexpected character '" c "'")
}
