"""Filters that tell a real secret from a placeholder, a reference or an ID.

Provider rules use :func:`is_placeholder`; generic (entropy) rules also use
:func:`is_generic_false_positive`, which knows about hashes, UUIDs, versions,
URLs, identifiers and the like, and :func:`generic_entropy_ok`, the entropy
threshold per character set.  All functions are pure and cheap: they run only
on regex matches.

Thresholds (:data:`ENTROPY_MODEL`) were chosen by measurement: Shannon entropy
of a string is bounded by ``log2(len)``, so a fixed number is either too strict
for short tokens or too lax for long ones.  For 3,000 seeded random tokens per
length and alphabet the 1st percentile of entropy grows almost linearly in
``log2(len)``:

=========  ======  ======  ======  ======  ======
alphabet   len 16  len 20  len 24  len 32  len 64
=========  ======  ======  ======  ======  ======
hex        2.66    2.87    3.04    3.26    3.64
base64     3.33    3.62    3.86    4.22    4.92
symbols    3.45    -       4.00    -       -
=========  ======  ======  ======  ======  ======

so a threshold ``min(cap, slope * log2(len) + intercept)`` fitted under that
percentile keeps about 99% of random tokens.  What it rejects: lower-case words
and identifiers (median 3.0, 95th percentile 3.6 at lengths 8-60), versions
(median 3.25), short git SHAs (median 2.75); what it cannot reject on entropy
alone (long camelCase identifiers reach 4.9, paths 4.4, URLs 4.1, UUIDs 3.7,
SHA-256 digests 3.8, ``sha512-`` integrity hashes 5.5) is removed by the
structural filters in :func:`is_generic_false_positive`.
"""

from __future__ import annotations

import math
import re

from ..entropy import shannon_entropy as _entropy

_PLACEHOLDER_WORDS = re.compile(
    r"(?i)(x{4,}|\*{3,}|\.{3}|…|<[^<>]{1,80}>|\byour[_-]|[_-]here\b|changeme|change_me|"
    r"placeholder|redacted|\[masked\]|\bmasked\b|dummy|sample|example|fake|"
    r"\btodo\b|\bnull\b|\bnone\b|insert[_-]?(your|key|token)|replace[_-]?me|"
    r"0{8,}|1234567890|abcdef(gh|123)|550e8400-e29b-41d4-a716-446655440000|123e4567-e89b-12d3-a456-426614174000|\(\(redacted\)\)|(%2A){3,}|#{4,}|•{3,}|\[hidden\]|\[filtered\]|"
    # sequential and hex-speak fillers: abc123xyz, klmnop, deadbeef, cafebabe
    r"abc123|123abc|xyz123|123xyz|qwerty|asdfgh|deadbeef|cafebabe|feedface|baadf00d|decafbad|c0ffee|"
    r"d00dfeed|facefeed|defaced|abadcafe|"
    # base32 of "Hello", the TOTP secret of Google Authenticator's Key URI documentation
    r"jbswy3dp|"
    # bracketed names in documentation (`redis://[[username]:[password]]@host`)
    r"\[[A-Za-z _-]{2,40}\]|"
    # example values of the OAuth RFCs (6749 access/refresh tokens and client credentials, 6750, 5849)
    r"2yotnfzfejr1zcsicmwpaa|tgzv3jokf0xg5qx2tlkwia|czzcagrsa3f0mzpnwdfmqmf0m2jw|s6bhdrkqt3|gx1fbat3bv|"
    r"mf_9\.b5f-4\.1jqm|hh5s93j4hdidpola|nnch734d00sl2jdk|kllo9940pd9333jh|dkhjsbskhjdbsfhq)"
)
# A run of 5 consecutive letters or digits (`klmno`, `34567`, `VWXYZ`) in a value of up to
# 64 characters, of 8 in longer ones: in a random base62 token about 7e-8 per position, in
# random hex 1.5e-5 (a 64-char digest: 0.1%); long tokens that wrap structured data
# (1Password `ops_` base64 JSON) get the longer run.
_SEQ_ALPHABETS = ("abcdefghijklmnopqrstuvwxyz", "0123456789")
_SEQ_RUNS = tuple(a[i:i + 5] for a in _SEQ_ALPHABETS for i in range(len(a) - 4))
_SEQ_RUNS_LONG = tuple(a[i:i + 8] for a in _SEQ_ALPHABETS for i in range(len(a) - 7))
# Values that are the name of the thing instead of the thing (docs, templates):
# `postgres://user:password@host`, `USER:PASS@HOST`, `password: secret`.
_PLACEHOLDER_EXACT = frozenset({
    "password", "passwd", "pass", "pwd", "pw", "passphrase", "secret", "secrets", "token", "apikey",
    "api_key", "api-key", "key", "user", "username", "login", "mypassword", "yourpassword",
    "mysecret", "yoursecret", "mytoken", "yourtoken", "changeit", "string", "str", "value",
    "undefined", "nil", "true", "false", "required", "optional", "hidden", "empty", "unset",
    "notset", "not_set", "not-set", "n/a", "tbd", "test", "testing", "xxx", "guest",
})
# ${VAR}, ${{ secrets.X }}, $VAR, {{ var }}, %(var)s, %VAR%, {env:X}, os.environ..., process.env.X
_REFERENCE = re.compile(
    r"^\s*(\$\{\{?[^}]*\}\}?|\$\(|\$[A-Za-z_][A-Za-z0-9_]*|\{\{[^}]*\}\}|%\([a-z_]+\)s|%[A-Za-z_]+%|"
    r"\{env:[^}]+\}|\{\{?\s*secrets\.|\{[^{}\s]{1,80}\}$|<%=|#\{)"
)
_REFERENCE_ANYWHERE = re.compile(
    r"(\$\{[^}]*\}|\$\{\{[^}]*\}\}|\{\{[^}]*\}\}|os\.environ|os\.getenv|process\.env|getenv\(|ENV\[|"
    r"secrets\.[A-Z_]+|op://|vault:|ssm:|arn:aws:secretsmanager|System\.getenv|Environment\.GetEnvironmentVariable)"
)
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_HEX = re.compile(r"^[0-9a-fA-F]+$")
_HASH_HEX_LENGTHS = (32, 40, 56, 64, 96, 128)  # md5, sha1/git, sha224, sha256, sha384, sha512
_INTEGRITY = re.compile(r"^(sha1|sha256|sha384|sha512|md5)[-:]", re.I)
_HASH_PREFIX = re.compile(r"^(h1:|sha256:|sha512:|sha1:|md5:|blake2b?:|xxh64:|crc32:)", re.I)
_ONLY_LETTERS = re.compile(r"^[A-Za-z_.-]+$")
_PATHLIKE = re.compile(r"^(\.{0,2}/|[A-Za-z]:\\|~/|\\\\)|^[\w.-]+(/[\w.-]+){2,}$|^[\w-]+/[\w.-]+\.[a-z0-9]{1,5}$")
_IDENT = re.compile(r"^[A-Za-z_$][A-Za-z0-9_$]*(\.[A-Za-z_$][A-Za-z0-9_$]*)+(\(\)?)?$")
# Expressions, not values: optional chaining and non-null assertions (`opts?.apiKey`,
# `config!.token`, `a ?? b`), member access ending in `!`, PHP/Perl variables.
_EXPRESSION = re.compile(r"\?\.[A-Za-z_$]|![.\[][A-Za-z_$]|\?\?|^\$[A-Za-z_]\w*(->|::|\.|$)")
# Credential scopes of request signing (GCS V4 / AWS SigV4): an identity followed by date/region/service/
# request segments; an identifier, not a secret.
_CREDENTIAL_SCOPE = re.compile(r"^[^@\s/]+@[^@\s/]+(/[^/\s]+){3,}$")
# Scope paths in C++/Rust/PHP code (`Token::WHITESPACE`, `Kind::Password`): an enum value, not a literal.
_SCOPE_PATH = re.compile(r"^[A-Za-z_]\w*(::[A-Za-z_]\w*)+$")
_REPEAT = re.compile(r"(.)\1{5,}")
_VERSION = re.compile(r"^[vV]?\d{1,6}(\.\d{1,6}){1,4}([-+~_.][0-9A-Za-z.+_-]{0,60})?$")
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]{1,20}://[^\s]*$")
_URL_CREDENTIALS = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]{1,20}://[^/@\s:]*:[^/@\s]+@")
_HOSTNAME = re.compile(r"^[a-z0-9-]{1,63}(\.[a-z0-9-]{1,63})+(:\d{1,5})?$")
_EMAIL = re.compile(r"^[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]{1,63}(\.[A-Za-z0-9-]{1,63})+$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$")
_MIME = re.compile(r"^(application|text|image|audio|video|multipart|font)/[\w.+-]+$")
_BASE64_CLASS = re.compile(r"^[A-Za-z0-9+/=_-]+$")
# Identifier-shaped words: camelCase / PascalCase / snake / kebab segments of real words.
_WORD_SEGMENT = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+|[_./+=:-]+")
_IDENT_CHARS = re.compile(r"^[A-Za-z0-9_./+=:-]+$")
_VOWEL = re.compile(r"[aeiouyAEIOUY]")
_VOWEL_STRICT = re.compile(r"[aeiouAEIOU]")
_CONSONANTS = re.compile(r"[b-df-hj-np-tv-xzB-DF-HJ-NP-TV-XZ]{5}")
# Defaults and demo passwords: password1, Passw0rd!, admin123, secret, root...
# Provider formats with an offline checksum or structure check (GitHub/npm CRC32, GitLab
# routable tokens, PyPI macaroons) and key blocks: their own rules validate them, and a
# value that such a rule rejected (bad checksum) must not come back as a generic finding.
# Formats without a checksum are not listed: when their rule misses, the generic rule may
# still catch the value.
_PROVIDER_PREFIX = re.compile(
    r"^(gh[pousr]_|github_pat_|npm_|glpat-|glptt-|gldt-|glrt-|pypi-|AGE-SECRET-KEY-|-----BEGIN)"
)
_WEAK_DEFAULT = re.compile(
    r"(?i)^(pass(word|wd|w0rd)?|p@ssw(o|0)rd|secret|admin(istrator)?|root|test(ing)?|guest|default|"
    r"letmein|welcome|qwerty|asdf|demo|user|changeit|topsecret|s3cr3t|mysecret|supersecret|"
    r"my_?password|super_?secret|secret_?key|api_?key|token)[0-9!@#$%^&*._-]{0,8}$"
)


_REDACTED_B64 = ("UkVEQUNURUQ6", "JFREFDVEVEO", "SRURBQ1RFRD")
"""``REDACTED:`` in base64 at each of the three byte alignments."""


def is_placeholder(value: str) -> bool:
    """True for values that are clearly not a real credential."""
    if not value:
        return True
    if "REDACTED:" in value or any(b in value for b in _REDACTED_B64):
        return True  # a `keyscan redact` marker, as is or inside base64
    if _REFERENCE.match(value) or _PLACEHOLDER_WORDS.search(value):
        return True
    if value.strip("\"'` ").lower() in _PLACEHOLDER_EXACT:
        return True
    # A run of one character in a value with few distinct characters (`AAAAAAAA1`,
    # `ab000000cd`). Capped at 16: a long random token (a Fly.io macaroon, hundreds of
    # base64 characters) may hold a run and still use 60+ distinct characters.
    if _REPEAT.search(value) and len(set(value)) < min(max(6, len(value) // 4), 16):
        return True
    lowered = value.lower()
    if any(run in lowered for run in (_SEQ_RUNS if len(value) <= 64 else _SEQ_RUNS_LONG)):
        return True
    return False


def is_reference(value: str) -> bool:
    """True when the value names where a secret lives instead of holding it."""
    return bool(_REFERENCE.match(value) or _REFERENCE_ANYWHERE.search(value))


def is_wordlike(value: str) -> bool:
    """True for identifiers built from words (``getUserAccountSettings``,
    ``MAX_RETRY_COUNT``, ``primary-db-host``): long letter runs that read like
    words (vowels in proportion, no long consonant clusters), few digits.
    Random tokens switch case every one or two characters, and their long
    all-caps or lower-case runs are vowel-poor."""
    if not _IDENT_CHARS.match(value):
        return False  # identifiers do not contain ~ ! @ # % ^ & * ...
    letters = [s for s in _WORD_SEGMENT.findall(value) if s[0].isalpha()]
    if not letters:
        return False
    nletters = sum(len(s) for s in letters)
    ndigits = sum(c.isdigit() for c in value)
    if ndigits > 4 or ndigits * 5 > len(value):
        return False
    if nletters / len(letters) < 3.3:
        return False
    has_lower = any(c.islower() for c in value)
    short_no_vowel = 0
    for seg in letters:
        if has_lower and len(seg) >= 6 and seg.isupper():
            return False  # a long capital run inside mixed case: random, not an acronym
        vowels = len(_VOWEL.findall(seg))
        if len(seg) >= 5:
            if not 0.15 <= vowels / len(seg) <= 0.85 or _CONSONANTS.search(seg):
                return False
        elif not vowels and not _VOWEL.search(seg):
            short_no_vowel += 1
    return short_no_vowel * 2 <= len(letters)


def is_generic_false_positive(value: str) -> bool:
    """Values a generic (context + entropy) rule must not report."""
    if is_placeholder(value) or is_reference(value):
        return True
    if _WEAK_DEFAULT.match(value):
        return True
    if value.endswith(":"):
        return True  # a label (`token: Authorization:`), not a value
    if _PROVIDER_PREFIX.match(value):
        return True  # a provider format: its own rule decides
    # UUIDs and hash-length hex are NOT dropped: under a secret name (`HEROKU_API_KEY`, `deploy_token`,
    # `SECRET_KEY_BASE`) they are keys; rules drop them when the name says hash/sha/digest/commit/etag.
    if _INTEGRITY.match(value) or _HASH_PREFIX.match(value):
        return True  # lock-file integrity hashes (`sha512-...`, go.sum `h1:...`)
    if _ONLY_LETTERS.match(value) and not any(c.isupper() for c in value[1:]):
        return True  # words and snake_case identifiers
    if _PATHLIKE.match(value) or _IDENT.match(value) or _EXPRESSION.search(value) or _SCOPE_PATH.match(value):
        return True
    if value.isdigit() or _VERSION.match(value) or _DATE.match(value) or _MIME.match(value):
        return True
    if _CREDENTIAL_SCOPE.match(value):
        return True  # a signing credential scope (`account@project.iam.../20190201/auto/storage/goog4_request`)
    if _URL.match(value) and not _URL_CREDENTIALS.match(value):
        return True  # a URL without user:password@
    if _HOSTNAME.match(value) or _EMAIL.match(value):
        return True
    if is_wordlike(value):
        return True
    return False


# Password values: human passwords are short and low-entropy, so no entropy threshold; what
# is dropped instead is what a password-named field holds in code and docs that is not a
# password: format strings, labels and prompts (spaces), identifiers and attribute paths.
_FORMAT = re.compile(r"%[sdr]|%\(|\{\d*\}|\{[a-z_][a-z0-9_.]*\}|\$\{|#\{|\{\{|##\w|%%\w|^@\w+@$|^__\w+__$", re.I)
# Stored password hashes (Django, bcrypt, crypt(3), LDAP): not the password itself.
_PASSWORD_HASH = re.compile(r"^(pbkdf2_\w+|sha1|md5|bcrypt(_sha256)?|argon2\w*|scrypt)\$|^\$(2[abxy]?|[156y]|argon2\w*)\$|^\{(SSHA|SHA|MD5|SMD5|CRYPT|SSHA256|SSHA512)\}", re.I)
# Demo and test values seen under password names in real repositories (CredData F lines):
# `rootpass`, `securepwd`, `grafanatest`, `foobar4`, `pw123`, and "password" in other languages.
_PASSWORD_DEMO = re.compile(
    r"(?i)pass|pwd|test|foobar|^pw\d*$|^(passwort|senha|contrase[nñ]a|contrasenya|kodeord|heslo|parol[ae]|salasana|"
    r"wachtwoord|passord|l[oö]senord|has[lł]o|jelsz[oó]|sifre|şifrə|adgangskode|lozinka|geslo|salas[oõ]na|parol[aă])$")
_SNAKE_IDENT = re.compile(r"^[a-z][a-z0-9]*([_.-][a-z][a-z0-9]*)+$|^[A-Z][A-Z0-9]*(_[A-Z][A-Z0-9]*)+$")
# camelCase / PascalCase, also after a short acronym (`ISecretStore`, `DBPasswordField`)
_CAMEL_IDENT = re.compile(r"^[a-z]+([A-Z][a-z]+)+$|^[A-Z]{1,3}[a-z]+([A-Z][a-z]+)+$")
# Declared types: GraphQL/TypeScript/Java scalars and Rust/Haskell/Kotlin wrappers (`Option<String>`,
# whose value ends at the `<`).
_TYPE_NAME = re.compile(r"^(String|Int|Integer|Float|Double|Boolean|Bool|ID|Text|Bytes|Object|Any|Char|Number|"
                        r"SecretStr|SecureString|Password|Option|Optional|Maybe|Nullable|Vec|SecretString|"
                        r"SecretBox)(\[\])?!?\??$", re.I)
# Colon-joined lower-case words: a field list or type spec (`username:password:uid:gid`,
# `password:string:redact`, `user:pass`), not a password.
_WORD_CHAIN = re.compile(r"^[a-z]+(:[a-z]+)+$")
PASSWORD_MIN_LENGTH = 4
# English words that tests, docs and code put under password names in place of a password
# (`password: 'wrong'`, `password: hash,`); other short lower-case values are kept.
_STAND_IN_WORDS = frozenset("""
hunter wrong weak strong secure valid invalid short long blah hash hashed args auth pkey phrase sample value
values none null nil true false empty blank dummy fake random bad good correct hidden masked redact redacted
string text data input field form required optional unset unknown hello world abcd abcdef user users login
name email token other another new old current confirm crypt bcrypt plain clear salt pwned secret
incorrect
""".split())
_CHUNK_REPEAT = re.compile(r"^(.{1,3})\1+$")  # `asdasd`, `eeee`, `abab`


def password_value_ok(value: str, unquoted_in_code: bool = False) -> bool:
    """True when a literal under a password-like name (``password = "..."``) may be a real
    password.  Measured on real code (16 pip packages, 209 MB, see rules/generic.yml) and on
    CredData's 8-f half (bench/creddata.py).  ``unquoted_in_code``: the value had no quotes and
    a `,`, `;`, `)`, `}` or `<` follows it (an identifier in code or a template, not a config value)."""
    if len(value) < PASSWORD_MIN_LENGTH or any(c.isspace() for c in value):
        return False  # prompts, labels and sentences: `"Enter password"`
    if is_placeholder(value) or is_reference(value) or _WEAK_DEFAULT.match(value):
        return False
    if value.endswith(":") or _FORMAT.search(value) or _EXPRESSION.search(value):
        return False
    if _SNAKE_IDENT.match(value) or _CAMEL_IDENT.match(value) or _IDENT.match(value) or _SCOPE_PATH.match(value):
        return False  # `password_confirmation`, `DB_PASSWORD`, `newPassword`, `self.password`, `Kind::Password`
    if _WORD_CHAIN.match(value):
        return False  # `username:password:uid:gid`, `password:string:redact`
    if _PATHLIKE.match(value) or _URL.match(value) or _EMAIL.match(value) or _MIME.match(value):
        return False
    if _HOSTNAME.match(value) and not any(c.isdigit() for c in value.split(".")[0]):
        return False
    if _VERSION.match(value) or _DATE.match(value):
        return False
    if value.lower() in _STAND_IN_WORDS:
        return False  # `password: 'incorrect'` (a test's wrong password), `password = hash`
    if _ONLY_LETTERS.match(value) and value.islower() and len(value) <= 6:
        # short lower-case values (four to six letters, quoted in code or bare in YAML/.env) are passwords, except the
        # English words tests and docs put there (`'wrong'`, `'secure'`), repeated chunks (`asdasd`)
        # and bare identifiers in code (`password: hash,`)
        if _CHUNK_REPEAT.match(value) or unquoted_in_code:  # (stand-in words were dropped above)
            return False
    if _PASSWORD_DEMO.search(value):
        return False  # `mynewpassword`, `rootpass`, `grafanatest`, `Passwort`: the name, a demo, a label
    if any(not c.isascii() and c.isalpha() for c in value):
        return False  # translated UI text (`パスワード`): symbols such as `§` are kept
    if _PASSWORD_HASH.match(value):
        return False  # a stored hash (`pbkdf2_sha256$...`, `$2b$12$...`)
    if value.startswith("\\x"):
        return False  # a byte-string escape (`b'\\x89PNG...'`, `b"\\x02"`): test data, not a password
    if value.isdigit() or re.match(r"^0x[0-9a-fA-F]+$", value) or value[0] in "^~=":
        return False  # numbers, error codes (`0xC000006A`), version ranges (`^1.0.0`)
    if value.startswith("[") or value.endswith(("*", "]")):
        return False  # `[omitted]`, `[FUZZ]`, glob filters (`MYA*`)
    if _TYPE_NAME.match(value):
        return False  # a declared type (`password: String!` in GraphQL, `pwd: char[]`)
    if value[0] == "!" and value[1:].isalpha():
        return False  # a YAML tag (`password: !vault |`)
    return True


def charset_class(value: str) -> str:
    """``hex``, ``base64`` or ``other``: generic thresholds depend on the alphabet."""
    if _HEX.match(value):
        return "hex"
    if _BASE64_CLASS.match(value):
        return "base64"
    return "other"


# charset -> (slope, intercept, cap, minimum length): threshold = min(cap, slope*log2(len)+intercept).
# Fitted just under the 1st percentile of random tokens (see the module docstring and
# tests/test_filters.py).  hex: 16 chars -> 2.65, 32 -> 3.25, 64+ -> 3.5 (cap);
# base64: 12 -> 3.06, 16 -> 3.38, 32 -> 4.15, 64+ -> 4.5 (cap);
# other (symbols; passwords): 8 -> 2.4, 12 -> 2.8, 16 -> 3.2, 32+ -> 3.8 (cap).
ENTROPY_MODEL: dict[str, tuple[float, float, float, int]] = {
    "hex": (0.60, 0.25, 3.5, 16),
    "base64": (0.77, 0.30, 4.5, 12),
    "other": (0.80, 0.00, 3.8, 8),
}


def entropy_threshold(value: str) -> float:
    """Minimum Shannon entropy (bits/char) for a generic finding of this alphabet and length."""
    slope, intercept, cap, _ = ENTROPY_MODEL[charset_class(value)]
    return round(min(cap, slope * math.log2(max(len(value), 2)) + intercept), 3)


def generic_entropy_ok(value: str, entropy: float) -> bool:
    """True when ``value`` (with Shannon ``entropy``) is random enough for a generic rule.

    The threshold depends on the character set (hex values carry at most 4 bits
    per character, base64 6, free-form passwords more) and grows with length; too
    short values never pass.  Base64-class values also need two character classes
    (a random 16-character alphanumeric token has only upper, lower or digits
    with probability < 0.1%).
    """
    if _UUID.match(value):
        # a UUID carries 122 random bits in 32 hex digits: the hex threshold of 32 chars (3.25)
        digits = value.replace("-", "")
        return _entropy(digits) >= entropy_threshold(digits)
    cls = charset_class(value)
    if len(value) < ENTROPY_MODEL[cls][3]:
        return False
    if cls == "base64":
        kinds = (any(c.islower() for c in value) + any(c.isupper() for c in value)
                 + any(c.isdigit() for c in value))
        if kinds < 2:
            return False
    return entropy >= entropy_threshold(value)
