using BenchmarkDotNet.Running;
using EdgeLabeling.Benchmarks.Inference;
using EdgeLabeling.Benchmarks.Lambda;

// "inference-paired" runs the interleaved inference comparison (see PairedInferenceBench); everything else goes
// to BenchmarkDotNet's switcher, which reaches every benchmark class here: pass --filter '*Inference*' etc.
if (args is ["inference-paired", .. var rest])
{
    return PairedInferenceBench.Run(rest);
}

// "lambda-first-response" is one cold start of a packaged handler (scripts/bench-lambda-package.sh).
if (args is ["lambda-first-response", .. var lambdaArgs])
{
    return LambdaFirstResponse.Run(lambdaArgs);
}

// "merge" times the dataset merge and export on synthetic million-line manifests (docs/benchmarks.md, Merge).
if (args is ["merge", .. var mergeArgs])
{
    return await EdgeLabeling.Benchmarks.Merge.MergeBench.RunAsync(mergeArgs);
}

if (args is ["review-leases", .. var reviewArgs])
{
    return await EdgeLabeling.Benchmarks.Review.ReviewLeaseBench.RunAsync(reviewArgs);
}

BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
return 0;
