using System.Text.Json;
using EdgeLabeling.Contracts;

namespace EdgeLabeling.Labeling.Coco;

/// <summary>
/// Writes a COCO object-detection JSON file (<c>images</c>, <c>annotations</c> with
/// <c>bbox = [x, y, width, height]</c> in pixels, <c>categories</c>) without holding the dataset in memory:
/// images and annotations are spooled to two temporary files as they arrive and stitched together at the end.
/// Category ids are the Ground Truth class_id + 1, because COCO tools commonly treat id 0 as background.
/// </summary>
public sealed class CocoExportWriter : IAsyncDisposable
{
    private static readonly JsonWriterOptions WriterOptions = new() { Indented = false };
    private readonly string _imagesPath;
    private readonly string _annotationsPath;
    private readonly FileStream _imagesFile;
    private readonly FileStream _annotationsFile;
    private readonly Utf8JsonWriter _images;
    private readonly Utf8JsonWriter _annotations;
    private readonly SortedDictionary<int, string> _categories = [];
    private bool _finished;

    /// <param name="workDirectory">Folder for the two spool files (deleted on dispose).</param>
    public CocoExportWriter(string workDirectory)
    {
        Directory.CreateDirectory(workDirectory);
        var stem = Path.Combine(workDirectory, "coco-" + Guid.NewGuid().ToString("N"));
        _imagesPath = stem + ".images.json";
        _annotationsPath = stem + ".annotations.json";
        _imagesFile = new FileStream(_imagesPath, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 1 << 16, FileOptions.DeleteOnClose);
        _annotationsFile = new FileStream(_annotationsPath, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 1 << 16, FileOptions.DeleteOnClose);
        _images = new Utf8JsonWriter(_imagesFile, WriterOptions);
        _annotations = new Utf8JsonWriter(_annotationsFile, WriterOptions);
        _images.WriteStartArray();
        _annotations.WriteStartArray();
    }

    public long ImageCount { get; private set; }
    public long AnnotationCount { get; private set; }

    /// <summary>The COCO category id of a Ground Truth class id.</summary>
    public static int CategoryId(int classId) => classId + 1;

    /// <summary>Adds one image with its boxes; <paramref name="annotationIds"/> gives one id per box.</summary>
    public void AddImage(long imageId, string sourceRef, ImageSize size, IReadOnlyList<PixelBox> boxes, IReadOnlyDictionary<int, string> classNames, Func<int, long> annotationIds, string labelSource)
    {
        ObjectDisposedException.ThrowIf(_finished, this);
        _images.WriteStartObject();
        _images.WriteNumber("id", imageId);
        _images.WriteString("file_name", KeyOf(sourceRef));
        _images.WriteNumber("width", size.Width);
        _images.WriteNumber("height", size.Height);
        _images.WriteString("source_ref", sourceRef);
        _images.WriteString("label_source", labelSource);
        _images.WriteEndObject();
        ImageCount++;

        for (var i = 0; i < boxes.Count; i++)
        {
            var b = boxes[i];
            if (!_categories.ContainsKey(b.ClassId))
            {
                _categories[b.ClassId] = classNames.TryGetValue(b.ClassId, out var n) ? n : $"class-{b.ClassId}";
            }

            _annotations.WriteStartObject();
            _annotations.WriteNumber("id", annotationIds(i));
            _annotations.WriteNumber("image_id", imageId);
            _annotations.WriteNumber("category_id", CategoryId(b.ClassId));
            // Same 2-decimal rounding as the manifest line; area is that of the box as written.
            var (w, h) = (Math.Round(b.Width, 2), Math.Round(b.Height, 2));
            _annotations.WriteStartArray("bbox");
            _annotations.WriteNumberValue(Math.Round(b.Left, 2));
            _annotations.WriteNumberValue(Math.Round(b.Top, 2));
            _annotations.WriteNumberValue(w);
            _annotations.WriteNumberValue(h);
            _annotations.WriteEndArray();
            _annotations.WriteNumber("area", Math.Round(w * h, 4));
            _annotations.WriteNumber("iscrowd", 0);
            _annotations.WriteEndObject();
            AnnotationCount++;
        }

        // Keep the writers' buffers small: spill to the temp files every few thousand entries.
        if (_images.BytesPending > 1 << 16)
        {
            _images.Flush();
        }

        if (_annotations.BytesPending > 1 << 16)
        {
            _annotations.Flush();
        }
    }

    /// <summary>Writes the whole COCO document to <paramref name="output"/>.</summary>
    public async Task WriteToAsync(Stream output, string description, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_finished, this);
        _finished = true;
        _images.WriteEndArray();
        _annotations.WriteEndArray();
        await _images.FlushAsync(cancellationToken).ConfigureAwait(false);
        await _annotations.FlushAsync(cancellationToken).ConfigureAwait(false);

        await using (var head = new Utf8JsonWriter(output, new JsonWriterOptions { SkipValidation = true }))
        {
            head.WriteStartObject();
            head.WriteStartObject("info");
            head.WriteString("description", description);
            head.WriteString("version", "1.0");
            head.WriteEndObject();
            head.WriteStartArray("licenses");
            head.WriteEndArray();
            head.WritePropertyName("images");
            await head.FlushAsync(cancellationToken).ConfigureAwait(false);
        }

        _imagesFile.Position = 0;
        await _imagesFile.CopyToAsync(output, cancellationToken).ConfigureAwait(false);
        await output.WriteAsync(",\"annotations\":"u8.ToArray(), cancellationToken).ConfigureAwait(false);
        _annotationsFile.Position = 0;
        await _annotationsFile.CopyToAsync(output, cancellationToken).ConfigureAwait(false);

        await using (var tail = new Utf8JsonWriter(output, new JsonWriterOptions { SkipValidation = true }))
        {
            await output.WriteAsync(",\"categories\":"u8.ToArray(), cancellationToken).ConfigureAwait(false);
            tail.WriteStartArray();
            foreach (var (classId, name) in _categories)
            {
                tail.WriteStartObject();
                tail.WriteNumber("id", CategoryId(classId));
                tail.WriteString("name", name);
                tail.WriteString("supercategory", "part");
                tail.WriteEndObject();
            }

            tail.WriteEndArray();
            await tail.FlushAsync(cancellationToken).ConfigureAwait(false);
        }

        await output.WriteAsync("}"u8.ToArray(), cancellationToken).ConfigureAwait(false);
        await output.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    private static string KeyOf(string sourceRef)
    {
        if (sourceRef.StartsWith("s3://", StringComparison.Ordinal))
        {
            var slash = sourceRef.IndexOf('/', 5);
            return slash > 0 ? sourceRef[(slash + 1)..] : sourceRef;
        }

        return sourceRef;
    }

    public async ValueTask DisposeAsync()
    {
        await _images.DisposeAsync().ConfigureAwait(false);
        await _annotations.DisposeAsync().ConfigureAwait(false);
        await _imagesFile.DisposeAsync().ConfigureAwait(false);
        await _annotationsFile.DisposeAsync().ConfigureAwait(false);
    }
}
