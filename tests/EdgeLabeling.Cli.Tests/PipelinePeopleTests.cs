using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using EdgeLabeling.Cli.Pipeline;
using EdgeLabeling.Contracts;

namespace EdgeLabeling.Cli.Tests;

/// <summary>
/// <c>edgelabel pipeline --labelers people</c>: the run stops after batching, serves the review app, and
/// merges each job once people have answered every image. Here the "people" are an HTTP client using the
/// same API the page uses, with the token from the printed URL.
/// </summary>
public sealed class PipelinePeopleTests
{
    private sealed class QuietProgress : IPipelineProgress
    {
        public void Stage(string name)
        {
        }

        public void Update(string text)
        {
        }

        public void Done(string name, string summary, TimeSpan elapsed)
        {
        }
    }

    [Fact]
    public async Task Pipeline_LabelersPeople_MergesWhatTheLabelersSubmitted()
    {
        using var subset = new PipelineSampleSubset(10);
        var ready = new TaskCompletionSource<Uri>(TaskCreationOptions.RunContinuationsAsynchronously);
        var request = new PipelineRequest
        {
            OutputDirectory = subset.Output,
            ModelPath = Path.Combine(CliRunner.RepoRoot, "samples", "models", "parts-detector.onnx"),
            ImagesDirectory = subset.Images,
            LabelsDirectory = subset.Labels,
            Labelers = PipelineRequest.People,
            OnReviewReady = ready.SetResult,
        };
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        var run = PipelineRunner.RunAsync(request, new QuietProgress(), cts.Token);

        var finished = await Task.WhenAny(run, ready.Task);
        Assert.True(finished == ready.Task, "the run ended without serving the review app: " + (run.IsFaulted ? run.Exception!.InnerException!.Message : "no jobs"));
        var url = await ready.Task;
        Assert.Equal("127.0.0.1", url.Host);
        var token = url.Fragment["#token=".Length..];
        using var http = new HttpClient { BaseAddress = new Uri(url.GetLeftPart(UriPartial.Authority)) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);

        var jobs = JsonNode.Parse(await http.GetStringAsync("/api/jobs"))!["jobs"]!.AsArray();
        Assert.NotEmpty(jobs);
        var submitted = new Dictionary<string, int>();
        foreach (var job in jobs.Select(j => j!["name"]!.GetValue<string>()))
        {
            while (true)
            {
                using var lease = await http.PostAsync($"/api/jobs/{job}/lease", null);
                // 204: nothing open right now; 410 job-closed: the last submit completed the job.
                if (lease.StatusCode == HttpStatusCode.NoContent
                    || (lease.StatusCode == HttpStatusCode.Gone && JsonNode.Parse(await lease.Content.ReadAsStringAsync())!["error"]!.GetValue<string>() == "job-closed"))
                {
                    break;
                }

                Assert.True(lease.StatusCode == HttpStatusCode.OK, await lease.Content.ReadAsStringAsync());
                Assert.Contains("default-src 'none'", lease.Headers.GetValues("Content-Security-Policy").Single(), StringComparison.Ordinal);
                var task = JsonNode.Parse(await lease.Content.ReadAsStringAsync())!;
                using var image = await http.GetAsync(task["imageUrl"]!.GetValue<string>());
                Assert.Equal(HttpStatusCode.OK, image.StatusCode);
                Assert.True((await image.Content.ReadAsByteArrayAsync()).Length > 100);

                // The labeler accepts the model's boxes, or says "no objects" when there are none.
                var prior = task["priorBoxes"]!.AsArray();
                var body = new JsonObject { ["leaseId"] = task["leaseId"]!.GetValue<string>(), ["boxes"] = prior.DeepClone(), ["noObjects"] = prior.Count == 0 };
                using var submit = await http.PostAsync($"/api/jobs/{job}/tasks/{task["index"]}/submit", new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"));
                Assert.Equal(HttpStatusCode.OK, submit.StatusCode);
                submitted[task["imageKey"]!.GetValue<string>()] = prior.Count;
            }
        }

        var result = await run;

        Assert.All(result.Jobs, j => Assert.Equal("Completed", j.Status));
        Assert.Equal(submitted.Count, result.Jobs.Sum(j => j.Items));
        Assert.Equal(submitted.Count, result.Jobs.Sum(j => (int)j.Labeled));
        var lines = File.ReadAllLines(result.Dataset.ManifestPath).Where(l => l.Length > 0).Select(l => GroundTruthManifest.Parse(l, "parts")).ToList();
        var human = lines.Where(l => l.HumanAnnotated).ToDictionary(l => l.SourceRef);
        Assert.Equal(submitted.Keys.Order(), human.Keys.Order());
        Assert.All(submitted, s => Assert.Equal(s.Value, human[s.Key].Boxes.Count));
        Assert.True(File.Exists(Path.Combine(subset.Output, "cloud", "review.db")));
    }
}
