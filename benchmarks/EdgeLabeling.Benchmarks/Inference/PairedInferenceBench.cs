using System.Diagnostics;
using System.Globalization;

namespace EdgeLabeling.Benchmarks.Inference;

/// <summary>
/// A noise-resistant companion to <see cref="InferencePipelineBenchmarks"/> for a shared machine: each round runs
/// session-only, sequential and pipelined back to back on the same 24 images (rotating their order), and the
/// throughput ratios are taken per round, so a load spike from other processes hits all three alike.
/// Prints the median ratio and its range, plus CPU time per image (process CPU, all threads).
/// Run: dotnet run -c Release --project benchmarks/EdgeLabeling.Benchmarks -- inference-paired [rounds]
/// </summary>
internal static class PairedInferenceBench
{
    public static int Run(string[] args)
    {
        var rounds = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 8;
        Console.WriteLine($"machine: {Environment.ProcessorCount} cores; load before: {LoadAverage()}");
        Console.WriteLine("| model | session-only img/s | sequential img/s | pipelined img/s | sequential / session-only | pipelined / session-only | CPU ms/img session / seq / pipe |");
        Console.WriteLine("|---|---|---|---|---|---|---|");
        foreach (var model in InferencePipelineBenchmarks.Models())
        {
            var bench = new InferencePipelineBenchmarks { Model = model, Threads = 1 };
            bench.Setup();
            try
            {
                Action[] methods =
                [
                    bench.SessionOnly,
                    () => bench.Sequential(),
                    () => bench.Pipelined().GetAwaiter().GetResult(),
                ];
                foreach (var m in methods)
                {
                    m(); // warm-up
                }

                var wall = new double[3][];
                var cpu = new double[3][];
                for (var k = 0; k < 3; k++)
                {
                    wall[k] = new double[rounds];
                    cpu[k] = new double[rounds];
                }

                var process = Process.GetCurrentProcess();
                for (var r = 0; r < rounds; r++)
                {
                    for (var j = 0; j < 3; j++)
                    {
                        var k = (r + j) % 3;
                        process.Refresh();
                        var cpu0 = process.TotalProcessorTime;
                        var sw = Stopwatch.StartNew();
                        methods[k]();
                        sw.Stop();
                        process.Refresh();
                        wall[k][r] = sw.Elapsed.TotalMilliseconds / InferencePipelineBenchmarks.Batch;
                        cpu[k][r] = (process.TotalProcessorTime - cpu0).TotalMilliseconds / InferencePipelineBenchmarks.Batch;
                    }
                }

                var seqRatio = Enumerable.Range(0, rounds).Select(r => wall[0][r] / wall[1][r]).ToArray();
                var pipeRatio = Enumerable.Range(0, rounds).Select(r => wall[0][r] / wall[2][r]).ToArray();
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"| {Path.GetFileName(model)} | {1000 / Median(wall[0]):F1} | {1000 / Median(wall[1]):F1} | {1000 / Median(wall[2]):F1} | " +
                    $"{Median(seqRatio):F2} ({seqRatio.Min():F2}–{seqRatio.Max():F2}) | {Median(pipeRatio):F2} ({pipeRatio.Min():F2}–{pipeRatio.Max():F2}) | " +
                    $"{Median(cpu[0]):F1} / {Median(cpu[1]):F1} / {Median(cpu[2]):F1} |"));
            }
            finally
            {
                bench.Cleanup();
            }
        }

        Console.WriteLine($"load after: {LoadAverage()}; {rounds} rounds of {InferencePipelineBenchmarks.Batch} images, medians (min–max) of per-round ratios");
        return 0;
    }

    private static double Median(double[] values)
    {
        var sorted = values.Order().ToArray();
        var mid = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    }

    private static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";
}
