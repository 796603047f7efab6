using System.Text;
using System.Text.Json.Nodes;

namespace EdgeLabeling.Simulation.LocalCloud;

/// <summary>Invokes a Stream-in/Stream-out handler the way the managed runtime does.</summary>
public static class LocalLambda
{
    /// <summary>The event as a UTF-8 JSON stream in, the handler's stream out parsed as a JSON object (empty when it is not one).</summary>
    public static async Task<JsonObject> InvokeAsync(Func<Stream, Task<Stream>> handler, JsonObject payload)
    {
        ArgumentNullException.ThrowIfNull(handler);
        ArgumentNullException.ThrowIfNull(payload);
        using var input = new MemoryStream(Encoding.UTF8.GetBytes(payload.ToJsonString()));
        await using var output = await handler(input).ConfigureAwait(false);
        return await JsonNode.ParseAsync(output).ConfigureAwait(false) as JsonObject ?? [];
    }
}
