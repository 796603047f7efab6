using CsCheck;
using EdgeLabeling.Contracts;
using EdgeLabeling.Labeling.Jobs;
using EdgeLabeling.Labeling.Tests.Support;

namespace EdgeLabeling.Labeling.Tests.Batching;

public class JobNamesTests
{
    [Fact]
    public void ForBatch_SameBatchId_GivesSameName()
    {
        var id = JobNames.NewBatchId(Fixtures.Start);

        Assert.Equal(JobNames.ForBatch("edgelabel", id), JobNames.ForBatch("edgelabel", id));
        Assert.Matches("^edgelabel-20261126t060000-[0-9a-f]{8}$", JobNames.ForBatch("edgelabel", id));
    }

    [Fact]
    public void NewBatchId_SameSecond_Differs()
    {
        Assert.NotEqual(JobNames.NewBatchId(Fixtures.Start), JobNames.NewBatchId(Fixtures.Start));
    }

    [Fact]
    public void ForBatch_AnyBatchId_IsAValidJobName()
    {
        Gen.String[1, 200].Where(s => s.Any(char.IsAsciiLetterOrDigit)).Sample(id =>
            GroundTruthManifest.IsValidName(JobNames.ForBatch("edgelabel", id), 63), iter: 2000);
    }

    [Fact]
    public void ForBatch_LongIdsSharingAPrefix_StayDistinct()
    {
        var a = JobNames.ForBatch("edgelabel", new string('x', 80) + "-a");
        var b = JobNames.ForBatch("edgelabel", new string('x', 80) + "-b");

        Assert.NotEqual(a, b);
        Assert.Equal(63, a.Length);
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("___")]
    public void ForBatch_NoUsableCharacters_Throws(string id)
    {
        Assert.Throws<ArgumentException>(() => JobNames.ForBatch("", id));
    }
}
