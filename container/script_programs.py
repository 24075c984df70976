"""Which programs a shell or Python script runs, read from its text.

    from script_programs import shell_programs, python_programs

Used by check_packages.py to find a program that a script calls and that
nothing installs. Shell is not parsed in full: this reads the command words
(the first word of each simple command: at a line's start, after `;`, `&&`,
`||`, `|`, `(`, `$(`, a backtick, `then`, `do`, `else`, `!`), skipping what
cannot name an installed program (builtins, keywords, functions, variables,
quoted or relative paths) and looking through the wrappers that run another
program (`exec`, `sudo`, `env`, `nice`, `timeout`, `flock`, `runuser`,
`ip netns exec`). Heredoc bodies and quoted text are skipped; a program
started from a variable is not seen.
"""

from __future__ import annotations

import re

# Builtins and keywords of bash: they need no package.
BUILTINS = set(
    """. : [ [[ ]] { } ! alias bg break builtin caller case cd command compgen complete
    continue coproc declare dirs disown do done echo elif else enable esac eval exec exit export
    false fc fg fi for function getopts hash help history if in jobs kill let local logout
    mapfile popd printf pushd pwd read readarray readonly return select set shift shopt source
    suspend test then time times trap true type typeset ulimit umask unalias unset until wait
    while""".split()
)
# Wrappers: name -> how many arguments to skip before the wrapped command
# (None: skip options, and for these their one operand, up to the command).
WRAPPERS = {"exec": 0, "command": 0, "builtin": 0, "sudo": None, "nohup": 0, "env": None,
            "nice": None, "timeout": None, "flock": None, "runuser": None, "setsid": None,
            "time": 0, "!": 0, "xargs": None}
SEPARATORS = re.compile(r"\$\(|\(|\)|;|&&|\|\||\||&|`|\n|\bthen\b|\bdo\b|\belse\b|\belif\b|\bif\b|\bwhile\b|\buntil\b|\{\s")
ASSIGNMENT = re.compile(r"^[A-Za-z_]\w*(\[[^\]]*\])?\+?=")
FUNCTION = re.compile(r"^\s*(?:function\s+)?([A-Za-z_][\w:.-]*)\s*\(\)", re.M)
HEREDOC = re.compile(r"<<-?\s*(['\"]?)(\w+)\1")
QUOTED = "\x00"  # stands for quoted text in the masked script


def _strip_heredocs(text: str) -> str:
    """The script without the bodies of its heredocs."""
    out, lines, i = [], text.splitlines(), 0
    while i < len(lines):
        line = lines[i]
        out.append(line)
        i += 1
        for match in HEREDOC.finditer(line):
            end = match.group(2)
            while i < len(lines) and lines[i].strip() != end:
                i += 1
            i += 1
    return "\n".join(out)


def _mask(text: str) -> str:
    """Comments removed, quoted text replaced by QUOTED except the command
    substitutions inside double quotes, which run commands."""
    out: list[str] = []
    # Contexts: ["code", open parentheses] or ["'"] or ['"']; a $( inside
    # double quotes opens code again until its closing parenthesis.
    stack: list[list] = [["code", 0]]
    i, n = 0, len(text)
    while i < n:
        c, top = text[i], stack[-1]
        if top[0] == "'":
            if c == "'":
                stack.pop()
            out.append(QUOTED if c != "\n" else c)
        elif top[0] == '"':
            if c == "\\":
                out.append(QUOTED * 2)
                i += 2
                continue
            if text.startswith("$(", i) and not text.startswith("$((", i):
                stack.append(["code", 0])
                out.append("$(")
                i += 2
                continue
            if c == '"':
                stack.pop()
            out.append(QUOTED if c != "\n" else c)
        else:
            if c == "\\" and i + 1 < n:
                out.append(" " if text[i + 1] == "\n" else QUOTED * 2)
                i += 2
                continue
            if c == "(":
                top[1] += 1
            elif c == ")":
                if top[1] == 0 and len(stack) > 1:
                    stack.pop()
                else:
                    top[1] = max(0, top[1] - 1)
            if c in "'\"":
                stack.append([c])
                out.append(QUOTED)
            elif c == "#" and (i == 0 or text[i - 1] in " \t\n;"):
                while i < n and text[i] != "\n":
                    i += 1
                continue
            else:
                out.append(c)
        i += 1
    return "".join(out)


def _without_noise(text: str) -> str:
    """Arithmetic, array literals, redirections and case patterns removed."""
    text = re.sub(r"\$?\(\([^()]*(\([^()]*\)[^()]*)*\)\)", " ", text)
    text = re.sub(r"\b[A-Za-z_]\w*\+?=\([^)]*\)", " ", text)
    text = re.sub(r"\d*(&>>?|>>?&?|<<?&?|<>)\d*-?", " ", text)
    lines, depth = [], 0
    for line in text.split("\n"):
        if re.search(r"(^|[\s;])case\s", line):
            depth += 1
        elif depth and re.match(r"^\s*\(?[^()$]*\)", line):
            line = line[line.index(")") + 1:]
        if re.search(r"(^|[\s;])esac\b", line):
            depth = max(0, depth - 1)
        lines.append(line)
    return "\n".join(lines)


def _command_word(words: list[str]) -> str | None:
    """The program a simple command (split into words) runs, if it names one."""
    i = 0
    while i < len(words):
        word = words[i]
        if ASSIGNMENT.match(word):
            i += 1
            continue
        if word in ("ip",) and words[i + 1:i + 3] == ["netns", "exec"]:
            return "ip"
        if word in WRAPPERS and word not in ("exec", "command", "builtin", "time", "!"):
            return word
        if word in WRAPPERS:
            i += 1
            continue
        return word
    return None


def shell_programs(text: str) -> set[str]:
    """The programs a shell script runs by name (absolute paths kept whole)."""
    functions = set(FUNCTION.findall(text))
    masked = _without_noise(_mask(_strip_heredocs(text)))
    programs: set[str] = set()
    for segment in SEPARATORS.split(masked):
        words = segment.split()
        while words:
            word = _command_word(words)
            if word is None:
                break
            programs.add(word)
            # Also what a wrapper runs: `nice -n 10 cargo`, `flock LOCK cargo`.
            if word in WRAPPERS or word == "ip":
                words = _wrapped(word, words[words.index(word) + 1:])
            else:
                break
    return {
        program for program in programs
        if program not in BUILTINS and program not in functions
        and QUOTED not in program and not program.startswith(("$", "-", "~", ".", "{", "}"))
        and not re.search(r"[*?=\[\]]", program)
        and ("/" not in program or program.startswith("/"))
    }


def _wrapped(wrapper: str, args: list[str]) -> list[str]:
    """The words of the command a wrapper runs."""
    if wrapper == "ip":
        return args[3:] if args[:2] == ["netns", "exec"] else []
    if wrapper == "runuser":
        return args[args.index("--") + 1:] if "--" in args else []
    i = 0
    takes_value = {"nice": {"-n"}, "timeout": {"-s", "-k", "--signal", "--kill-after"},
                   "flock": {"-w", "-E", "--timeout"}, "sudo": {"-u", "-g"}, "xargs": {"-I", "-n", "-P"}}
    while i < len(args) and args[i].startswith("-"):
        i += 2 if args[i] in takes_value.get(wrapper, ()) else 1
    if wrapper in ("timeout", "flock") and i < len(args):
        i += 1  # the duration, the lock file
    return args[i:]


PYTHON_RUNS = re.compile(
    r"(?:subprocess\.(?:run|call|check_call|check_output|Popen)|\brun|shutil\.which)\(\s*\[?\s*[\"']([^\"'\s]+)[\"']"
)


def python_programs(text: str) -> set[str]:
    """Programs a Python script starts by a literal name."""
    return {name for name in PYTHON_RUNS.findall(text) if not name.startswith(("-", ".", "{"))}
