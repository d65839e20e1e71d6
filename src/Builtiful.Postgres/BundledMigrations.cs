using System.Text;

namespace Builtiful.Postgres;

/// <summary>The scripts of deploy/postgres/migrations, embedded into this assembly at build time.</summary>
public static class BundledMigrations
{
    private const string ResourcePrefix = "Builtiful.Postgres.Migrations.";

    public static IReadOnlyList<MigrationScript> Load()
    {
        var assembly = typeof(BundledMigrations).Assembly;
        var scripts = new List<MigrationScript>();
        foreach (var resource in assembly.GetManifestResourceNames())
        {
            if (!resource.StartsWith(ResourcePrefix, StringComparison.Ordinal) || !resource.EndsWith(".sql", StringComparison.Ordinal))
            {
                continue;
            }

            using var stream = assembly.GetManifestResourceStream(resource)
                ?? throw new InvalidOperationException($"Embedded migration '{resource}' could not be opened.");
            using var reader = new StreamReader(stream, Encoding.UTF8);
            scripts.Add(MigrationScript.FromFileName(resource[ResourcePrefix.Length..], reader.ReadToEnd()));
        }

        return [.. scripts.OrderBy(s => s.Order)];
    }
}
