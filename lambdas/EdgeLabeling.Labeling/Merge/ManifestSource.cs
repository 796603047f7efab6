using System.Runtime.CompilerServices;
using System.Text;
using EdgeLabeling.Storage;

namespace EdgeLabeling.Labeling.Merge;

/// <summary>A JSON-lines file the dataset is built from; opened as often as a pass needs it.</summary>
public sealed record ManifestSource(string Name, Func<CancellationToken, Task<Stream>> Open)
{
    /// <summary>A local file, plain or gzip (an auto-label batch copied out of the bucket as it is stored).</summary>
    public static ManifestSource FromFile(string path) =>
        new(path, ct => ObjectContent.DecodeAsync(new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan | FileOptions.Asynchronous), ct));

    /// <summary>An object in the store, plain or gzip (edge auto-label batches are gzip); opened again for every pass.</summary>
    public static ManifestSource FromStore(IObjectStore store, string bucket, string key) =>
        new($"s3://{bucket}/{key}", async ct => await ObjectContent.OpenDecodedReadAsync(store, bucket, key, ct).ConfigureAwait(false)
            ?? throw new FileNotFoundException($"manifest s3://{bucket}/{key} disappeared while the dataset was being built"));

    /// <summary>Streams the lines as UTF-8 (what the parser reads), skipping blank lines; a line is valid until the next is read.</summary>
    public async IAsyncEnumerable<(long LineNumber, ReadOnlyMemory<byte> Line)> ReadUtf8LinesAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await using var stream = await Open(cancellationToken).ConfigureAwait(false);
        await foreach (var line in Utf8LineReader.ReadAsync(stream, cancellationToken).ConfigureAwait(false))
        {
            yield return line;
        }
    }

    /// <summary>Streams the lines one at a time (never the whole file), skipping blank lines.</summary>
    public async IAsyncEnumerable<(long LineNumber, string Line)> ReadLinesAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await using var stream = await Open(cancellationToken).ConfigureAwait(false);
        using var reader = new StreamReader(stream, new UTF8Encoding(false), detectEncodingFromByteOrderMarks: true, bufferSize: 1 << 16);
        long n = 0;
        while (await reader.ReadLineAsync(cancellationToken).ConfigureAwait(false) is { } line)
        {
            n++;
            if (!string.IsNullOrWhiteSpace(line))
            {
                yield return (n, line);
            }
        }
    }
}
