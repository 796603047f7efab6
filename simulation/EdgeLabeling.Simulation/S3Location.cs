namespace EdgeLabeling.Simulation;

/// <summary>An s3://bucket/key URI split into its parts.</summary>
public readonly record struct S3Location(string Bucket, string Key)
{
    public static S3Location Parse(string uri)
    {
        if (uri is null || !uri.StartsWith("s3://", StringComparison.Ordinal))
        {
            throw new FormatException($"'{uri}' is not an s3://bucket/key URI");
        }

        var rest = uri[5..];
        var slash = rest.IndexOf('/');
        return slash <= 0 ? new S3Location(rest, "") : new S3Location(rest[..slash], rest[(slash + 1)..]);
    }

    public override string ToString() => $"s3://{Bucket}/{Key}";
}
