namespace Builtiful.Compute.Ec2.Tests;

/// <summary>One EC2 query-protocol request as it left the SDK: its action and form parameters, and when (on the test's clock).</summary>
public sealed record Ec2Call(string Action, IReadOnlyDictionary<string, string> Parameters, DateTimeOffset At)
{
    public string? this[string name] => Parameters.GetValueOrDefault(name);

    /// <summary>Values of a list parameter such as <c>InstanceId.1</c>, <c>InstanceId.2</c>, …</summary>
    public IReadOnlyList<string> List(string prefix) =>
        [.. Parameters.Where(p => p.Key.StartsWith(prefix + ".", StringComparison.Ordinal) && int.TryParse(p.Key.AsSpan(prefix.Length + 1), out _))
            .OrderBy(p => int.Parse(p.Key.AsSpan(prefix.Length + 1), System.Globalization.CultureInfo.InvariantCulture))
            .Select(p => p.Value)];

    /// <summary>Values of the first filter with this name, for example <c>instance-id</c> or <c>tag:builtiful:lease</c>.</summary>
    public IReadOnlyList<string> Filter(string name)
    {
        foreach (var (key, value) in Parameters)
        {
            if (key.StartsWith("Filter.", StringComparison.Ordinal) && key.EndsWith(".Name", StringComparison.Ordinal) && value == name)
            {
                return List(key[..^".Name".Length] + ".Value");
            }
        }

        return [];
    }
}
