using System.Runtime.InteropServices;

namespace EdgeLabeling.Inference;

/// <summary>
/// Hands free pages of the C heap back to the operating system (glibc <c>malloc_trim</c>). Loading a model
/// parses the protobuf, builds initializers and optimizes the graph, which leaves megabytes of freed memory inside
/// the process heap that glibc would otherwise keep resident for the process's lifetime. No-op where unsupported.
/// </summary>
internal static partial class NativeHeap
{
    private static bool _unsupported = !OperatingSystem.IsLinux();

    public static void Trim()
    {
        if (_unsupported)
        {
            return;
        }

        try
        {
            MallocTrim(0);
        }
        catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException)
        {
            // musl and other C libraries have no malloc_trim; nothing to give back there.
            _unsupported = true;
        }
    }

    [LibraryImport("libc", EntryPoint = "malloc_trim")]
    private static partial int MallocTrim(nuint pad);
}
