using System.Diagnostics;
using System.Reflection;
using System.Runtime.Loader;
using System.Text;

namespace EdgeLabeling.Benchmarks.Lambda;

/// <summary>
/// One cold start of a packaged handler, as the managed Lambda runtime does it: load the handler
/// assembly from the package folder (its own deps.json, so R2R images and trimmed dependencies are what
/// gets loaded), create the class with its parameterless constructor, invoke the handler once. Prints
/// "first-response-ms load=… construct=… invoke=… total=…" for scripts/bench-lambda-package.sh, which runs
/// it in a fresh process per sample.
/// </summary>
public static class LambdaFirstResponse
{
    public static int Run(string[] args)
    {
        if (args.Length != 3)
        {
            Console.Error.WriteLine("usage: lambda-first-response <package-dir> <Assembly::Type::Method> <event-file>");
            return 2;
        }

        var clock = Stopwatch.StartNew();
        var (packageDir, handler, eventFile) = (Path.GetFullPath(args[0]), args[1], args[2]);
        var parts = handler.Split("::");
        var context = new PackageLoadContext(Path.Combine(packageDir, parts[0] + ".dll"));
        var assembly = context.LoadFromAssemblyPath(Path.Combine(packageDir, parts[0] + ".dll"));
        var type = assembly.GetType(parts[1], throwOnError: true)!;
        var load = clock.Elapsed;

        var instance = Activator.CreateInstance(type)!;
        var constructed = clock.Elapsed;

        var method = type.GetMethod(parts[2], BindingFlags.Public | BindingFlags.Instance, [typeof(Stream)])!;
        using var input = new MemoryStream(File.ReadAllBytes(eventFile));
        var output = ((Task<Stream>)method.Invoke(instance, [input])!).GetAwaiter().GetResult();
        using var reader = new StreamReader(output, Encoding.UTF8);
        var response = reader.ReadToEnd();
        var total = clock.Elapsed;

        Console.WriteLine($"first-response-ms load={load.TotalMilliseconds:F0} construct={(constructed - load).TotalMilliseconds:F0} invoke={(total - constructed).TotalMilliseconds:F0} total={total.TotalMilliseconds:F0}");
        Console.Error.WriteLine($"response: {response}");
        return 0;
    }

    /// <summary>Resolves every assembly (and native library) from the package's own deps.json.</summary>
    private sealed class PackageLoadContext(string mainAssembly) : AssemblyLoadContext("lambda-package")
    {
        private readonly AssemblyDependencyResolver resolver = new(mainAssembly);

        protected override Assembly? Load(AssemblyName assemblyName) =>
            resolver.ResolveAssemblyToPath(assemblyName) is { } path ? LoadFromAssemblyPath(path) : null;

        protected override IntPtr LoadUnmanagedDll(string unmanagedDllName) =>
            resolver.ResolveUnmanagedDllToPath(unmanagedDllName) is { } path ? LoadUnmanagedDllFromPath(path) : IntPtr.Zero;
    }
}
