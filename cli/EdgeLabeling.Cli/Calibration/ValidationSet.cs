using EdgeLabeling.Contracts;
using EdgeLabeling.Evaluation;
using EdgeLabeling.Inference;

namespace EdgeLabeling.Cli.Calibration;

/// <summary>A folder of images with YOLO-format ground truth beside it, run through a detector.</summary>
internal static class ValidationSet
{
    public static IReadOnlyList<string> ImagesIn(string imagesDir)
    {
        if (!Directory.Exists(imagesDir))
        {
            throw new CalibrationInputException($"images folder '{imagesDir}' does not exist");
        }

        var files = Directory.EnumerateFiles(imagesDir)
            .Where(ObjectKeyLayout.HasImageExtension)
            .OrderBy(f => f, StringComparer.Ordinal)
            .ToList();
        if (files.Count == 0)
        {
            throw new CalibrationInputException($"images folder '{imagesDir}' has no {ObjectKeyLayout.ImageExtensionsText} files");
        }

        return files;
    }

    /// <summary>
    /// Runs the detector on every image and pairs the detections with the image's label file
    /// (<c>labelsDir/&lt;stem&gt;.txt</c>). As in YOLO datasets, a missing label file means "no objects".
    /// Unreadable images are skipped and counted, never fatal.
    /// </summary>
    public static LoadedSet Load(OnnxDetector detector, string imagesDir, string labelsDir, IProgress<int>? progress = null, CancellationToken cancellationToken = default)
    {
        if (!Directory.Exists(labelsDir))
        {
            throw new CalibrationInputException($"labels folder '{labelsDir}' does not exist");
        }

        var decoder = new ImageDecoder();
        var classCount = detector.Info.ClassNames.Count;
        var images = new List<CalibrationImage>();
        var skipped = new List<string>();
        var missingLabels = 0;
        var done = 0;
        foreach (var file in ImagesIn(imagesDir))
        {
            cancellationToken.ThrowIfCancellationRequested();
            try
            {
                using var decoded = decoder.Decode(File.ReadAllBytes(file), detector.Info.InputWidth, detector.Info.InputHeight);
                var detections = detector.Detect(decoded);
                var labelPath = Path.Combine(labelsDir, Path.GetFileNameWithoutExtension(file) + ".txt");
                IReadOnlyList<PixelBox> truth = [];
                if (File.Exists(labelPath))
                {
                    truth = YoloLabelFile.Read(labelPath, decoded.OriginalSize, classCount);
                }
                else
                {
                    missingLabels++;
                }

                images.Add(new CalibrationImage(Path.GetFileName(file), detections, truth));
            }
            catch (ImageRejectedException ex)
            {
                skipped.Add($"{Path.GetFileName(file)}: {ex.Reason}");
            }
            catch (FormatException ex)
            {
                throw new CalibrationInputException(ex.Message);
            }

            progress?.Report(++done);
        }

        if (images.Count == 0)
        {
            throw new CalibrationInputException($"no readable images in '{imagesDir}'");
        }

        return new LoadedSet(images, skipped, missingLabels);
    }
}

internal sealed record LoadedSet(IReadOnlyList<CalibrationImage> Images, IReadOnlyList<string> Skipped, int MissingLabelFiles);

internal sealed class CalibrationInputException(string message) : Exception(message);
