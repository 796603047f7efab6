using System.Buffers;
using System.IO.Compression;

namespace EdgeLabeling.Storage;

/// <summary>
/// The one place that knows how JSON objects are encoded in the store. The edge writes sidecars and
/// auto-label batches gzip-compressed (<c>Content-Encoding: gzip</c>) because JSON of this kind shrinks
/// 3-5× and link bytes are what the site pays for; older objects, hand-made fixtures and Ground Truth's own
/// output are plain. Readers therefore look at the bytes (the 1f 8b gzip magic), never at headers: S3 hands
/// back stored bytes as they are, and some HTTP stacks decompress on the way while others do not.
/// </summary>
public static class ObjectContent
{
    /// <summary>
    /// Metadata key that stores send as the standard <c>Content-Encoding</c> header (not as
    /// <c>x-amz-meta-</c> user metadata) and report back from <see cref="IObjectStore.HeadAsync"/>.
    /// </summary>
    public const string ContentEncodingKey = "content-encoding";

    /// <summary>The <c>Content-Encoding</c> value of gzip-compressed objects.</summary>
    public const string Gzip = "gzip";

    /// <summary>True when <paramref name="bytes"/> start with the gzip magic number (1f 8b).</summary>
    public static bool IsGzip(ReadOnlySpan<byte> bytes) => bytes.Length >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b;

    /// <summary>
    /// Compresses <paramref name="data"/> into a gzip member. The output depends only on the input: the
    /// header carries no file name and a zero modification time, so the same records always give the same
    /// object bytes (content-addressed keys and the uploader's size+SHA-256 resume check rely on that).
    /// </summary>
    public static byte[] Compress(ReadOnlySpan<byte> data)
    {
        using var ms = new MemoryStream(data.Length / 2 + 64);
        using (var gz = new GZipStream(ms, CompressionLevel.SmallestSize, leaveOpen: true))
        {
            gz.Write(data);
        }

        return ms.ToArray();
    }

    /// <summary>
    /// Wraps <paramref name="raw"/> so that reading it yields the decoded content: gzip is decompressed
    /// (including several concatenated members), anything else passes through unchanged. Takes ownership of
    /// <paramref name="raw"/>.
    /// </summary>
    public static async Task<Stream> DecodeAsync(Stream raw, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(raw);
        var head = new byte[2];
        var n = 0;
        int read;
        while (n < head.Length && (read = await raw.ReadAsync(head.AsMemory(n), cancellationToken).ConfigureAwait(false)) > 0)
        {
            n += read;
        }

        Stream whole = new PrefixedStream(head.AsMemory(0, n), raw);
        return IsGzip(head.AsSpan(0, n)) ? new GZipStream(whole, CompressionMode.Decompress) : whole;
    }

    /// <summary>Opens an object for streaming reads of its decoded content; null when it does not exist.</summary>
    public static async Task<Stream?> OpenDecodedReadAsync(IObjectStore store, string bucket, string key, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        var raw = await store.OpenReadAsync(bucket, key, cancellationToken).ConfigureAwait(false);
        return raw is null ? null : await DecodeAsync(raw, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Reads a small JSON object (plain or gzip) and returns its decoded bytes, or null when it does not
    /// exist. <paramref name="maxBytes"/> limits the DECODED size and reading stops one byte past it, so a
    /// gzip bomb (a few kB that inflate to gigabytes) costs at most <paramref name="maxBytes"/> of memory.
    /// </summary>
    /// <exception cref="ObjectTooLargeException">The decoded content is larger than <paramref name="maxBytes"/>.</exception>
    /// <exception cref="InvalidDataException">The object starts like gzip but is not valid gzip.</exception>
    public static async Task<byte[]?> ReadJsonBytesAsync(IObjectStore store, string bucket, string key, int maxBytes, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxBytes);
        await using var s = await OpenDecodedReadAsync(store, bucket, key, cancellationToken).ConfigureAwait(false);
        if (s is null)
        {
            return null;
        }

        return await ReadCappedAsync(s, maxBytes, $"s3://{bucket}/{key}", cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Decodes bytes already in memory (plain or gzip) under the same decoded-size limit.</summary>
    /// <exception cref="ObjectTooLargeException">The decoded content is larger than <paramref name="maxBytes"/>.</exception>
    /// <exception cref="InvalidDataException">The bytes start like gzip but are not valid gzip.</exception>
    public static byte[] Decode(ReadOnlySpan<byte> bytes, int maxBytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxBytes);
        if (!IsGzip(bytes))
        {
            return bytes.Length > maxBytes ? throw new ObjectTooLargeException("content", maxBytes) : bytes.ToArray();
        }

        using var gz = new GZipStream(new MemoryStream(bytes.ToArray(), writable: false), CompressionMode.Decompress);
        return ReadCappedAsync(gz, maxBytes, "content", CancellationToken.None).GetAwaiter().GetResult();
    }

    private static async Task<byte[]> ReadCappedAsync(Stream s, int maxBytes, string what, CancellationToken ct)
    {
        // Pooled: a fresh limit-sized array per sidecar would land on the large-object heap every time.
        var buffer = ArrayPool<byte>.Shared.Rent(maxBytes + 1);
        try
        {
            var n = 0;
            int read;
            while (n <= maxBytes && (read = await s.ReadAsync(buffer.AsMemory(n, maxBytes + 1 - n), ct).ConfigureAwait(false)) > 0)
            {
                n += read;
            }

            if (n > maxBytes)
            {
                throw new ObjectTooLargeException(what, maxBytes);
            }

            return buffer.AsSpan(0, n).ToArray();
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Replays the bytes read while sniffing, then continues with the rest of the stream.</summary>
    private sealed class PrefixedStream(ReadOnlyMemory<byte> prefix, Stream inner) : Stream
    {
        private ReadOnlyMemory<byte> _prefix = prefix;

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            if (TakePrefix(buffer) is var n and > 0)
            {
                return n;
            }

            return inner.Read(buffer);
        }

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            var n = TakePrefix(buffer.Span);
            return n > 0 ? ValueTask.FromResult(n) : inner.ReadAsync(buffer, cancellationToken);
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        private int TakePrefix(Span<byte> buffer)
        {
            if (_prefix.IsEmpty || buffer.IsEmpty)
            {
                return 0;
            }

            var n = Math.Min(buffer.Length, _prefix.Length);
            _prefix.Span[..n].CopyTo(buffer);
            _prefix = _prefix[n..];
            return n;
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                inner.Dispose();
            }

            base.Dispose(disposing);
        }

        public override async ValueTask DisposeAsync()
        {
            await inner.DisposeAsync().ConfigureAwait(false);
            await base.DisposeAsync().ConfigureAwait(false);
        }
    }
}

/// <summary>An object whose decoded content is larger than the reader allows (oversized, or a gzip bomb).</summary>
public sealed class ObjectTooLargeException(string what, int maxBytes)
    : IOException($"{what} decodes to more than {maxBytes} bytes, over the limit")
{
    /// <summary>The limit that was exceeded, in decoded bytes.</summary>
    public int MaxBytes { get; } = maxBytes;
}
