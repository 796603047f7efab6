using System.Text.Json.Serialization;

namespace EdgeLabeling.Review.Tasks;

[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull, PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(ReviewJob))]
[JsonSerializable(typeof(ReviewAnswer))]
public partial class ReviewJsonContext : JsonSerializerContext;
