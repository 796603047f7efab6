namespace EdgeLabeling.Edge.Queue;

/// <summary>File operations the queue may leave undone without losing anything.</summary>
internal static class QueueFiles
{
    /// <summary>
    /// Deletes <paramref name="path"/> if it can. A file left behind is harmless: start-up recovery removes blobs
    /// without rows, and callers that need the file gone check for it afterwards.
    /// </summary>
    public static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
            // Left behind, see above.
        }
    }
}
