using System.Globalization;
using System.Text;

namespace EdgeLabeling.Inference;

/// <summary>
/// Reads class names from a model's <c>names</c> metadata or from a labels file, and produces the fallback names.
/// </summary>
public static class ClassNames
{
    /// <summary>
    /// Parses the <c>names</c> metadata Ultralytics writes: a Python dict repr such as <c>{0: 'bolt', 1: "nut's"}</c>
    /// (either quote style, backslash escapes, commas and colons inside names). JSON objects with quoted keys and
    /// plain lists (<c>['a', 'b']</c>) are accepted too. Ids must be exactly 0..N-1.
    /// </summary>
    /// <exception cref="FormatException">The text is not such a mapping; the message says where it stopped.</exception>
    public static IReadOnlyList<string> ParseMetadata(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var reader = new Reader(text);
        reader.SkipSpace();
        var open = reader.Next();
        if (open is not ('{' or '['))
        {
            throw reader.Error("expected '{' or '['");
        }

        var isList = open == '[';
        var close = isList ? ']' : '}';
        var byId = new SortedDictionary<int, string>();
        reader.SkipSpace();
        if (reader.TryConsume(close))
        {
            return [];
        }

        while (true)
        {
            int id;
            if (isList)
            {
                id = byId.Count;
            }
            else
            {
                reader.SkipSpace();
                id = reader.ReadKey();
                reader.SkipSpace();
                if (!reader.TryConsume(':'))
                {
                    throw reader.Error("expected ':' after the class id");
                }
            }

            reader.SkipSpace();
            var name = reader.ReadQuoted();
            if (!byId.TryAdd(id, name))
            {
                throw reader.Error($"class id {id} appears twice");
            }

            reader.SkipSpace();
            if (reader.TryConsume(','))
            {
                reader.SkipSpace();
                if (reader.TryConsume(close))
                {
                    break;
                }

                continue;
            }

            if (reader.TryConsume(close))
            {
                break;
            }

            throw reader.Error($"expected ',' or '{close}'");
        }

        reader.SkipSpace();
        if (!reader.AtEnd)
        {
            throw reader.Error("unexpected text after the closing bracket");
        }

        var names = new string[byId.Count];
        var expected = 0;
        foreach (var (id, name) in byId)
        {
            if (id != expected)
            {
                throw new FormatException($"Class ids must be 0..{byId.Count - 1} without gaps; id {expected} is missing.");
            }

            names[expected++] = name;
        }

        return names;
    }

    /// <summary>Reads a labels file: one name per line, surrounding whitespace trimmed, blank lines ignored.</summary>
    /// <exception cref="ModelLoadException">The file cannot be read or holds no names.</exception>
    public static IReadOnlyList<string> ReadLabelsFile(string path)
    {
        string[] lines;
        try
        {
            lines = File.ReadAllLines(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new ModelLoadException($"The labels file '{path}' cannot be read: {ex.Message}", ex);
        }

        var names = lines.Select(l => l.Trim()).Where(l => l.Length > 0).ToArray();
        if (names.Length == 0)
        {
            throw new ModelLoadException($"The labels file '{path}' holds no class names.");
        }

        return names;
    }

    /// <summary>"class0", "class1", ... for models that carry no names.</summary>
    public static IReadOnlyList<string> Fallback(int count) =>
        Enumerable.Range(0, count).Select(i => "class" + i.ToString(CultureInfo.InvariantCulture)).ToArray();

    private sealed class Reader(string text)
    {
        private int _pos;

        public bool AtEnd => _pos >= text.Length;

        public char Next() => AtEnd ? '\0' : text[_pos++];

        public void SkipSpace()
        {
            while (!AtEnd && char.IsWhiteSpace(text[_pos]))
            {
                _pos++;
            }
        }

        public bool TryConsume(char c)
        {
            if (!AtEnd && text[_pos] == c)
            {
                _pos++;
                return true;
            }

            return false;
        }

        public FormatException Error(string what) =>
            new($"Class names metadata is not a mapping of ids to names: {what} at position {_pos} in \"{Excerpt()}\".");

        private string Excerpt() => text.Length <= 80 ? text : text[..77] + "...";

        /// <summary>An integer id, optionally quoted (JSON objects quote their keys).</summary>
        public int ReadKey()
        {
            var quote = !AtEnd && text[_pos] is '"' or '\'' ? text[_pos++] : '\0';
            var start = _pos;
            while (!AtEnd && char.IsAsciiDigit(text[_pos]))
            {
                _pos++;
            }

            if (_pos == start || !int.TryParse(text.AsSpan(start, _pos - start), NumberStyles.None, CultureInfo.InvariantCulture, out var id))
            {
                throw Error("expected a non-negative integer class id");
            }

            if (quote != '\0' && !TryConsume(quote))
            {
                throw Error("unterminated quoted class id");
            }

            return id;
        }

        /// <summary>A Python/JSON string literal in single or double quotes.</summary>
        public string ReadQuoted()
        {
            var quote = Next();
            if (quote is not ('\'' or '"'))
            {
                _pos--;
                throw Error("expected a quoted class name");
            }

            var sb = new StringBuilder();
            while (true)
            {
                if (AtEnd)
                {
                    throw Error("unterminated class name");
                }

                var c = text[_pos++];
                if (c == quote)
                {
                    return sb.ToString();
                }

                if (c != '\\')
                {
                    sb.Append(c);
                    continue;
                }

                var e = Next();
                switch (e)
                {
                    case 'n': sb.Append('\n'); break;
                    case 't': sb.Append('\t'); break;
                    case 'r': sb.Append('\r'); break;
                    case 'x': sb.Append((char)ReadHex(2)); break;
                    case 'u': sb.Append((char)ReadHex(4)); break;
                    case 'U': sb.Append(char.ConvertFromUtf32(ReadHex(8))); break;
                    case '\0': throw Error("unterminated escape");
                    default: sb.Append(e); break; // \\ \' \" and anything else stand for themselves
                }
            }
        }

        private int ReadHex(int digits)
        {
            if (_pos + digits > text.Length ||
                !int.TryParse(text.AsSpan(_pos, digits), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var value))
            {
                throw Error($"expected {digits} hex digits in an escape");
            }

            _pos += digits;
            return value;
        }
    }
}
