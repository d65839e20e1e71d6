using Builtiful.Postgres;
using Builtiful.Silo.Storage;
using Npgsql;
using Orleans.Serialization;

namespace Builtiful.Silo;

/// <summary>Maintenance commands of the host: <c>migrate</c> and <c>rotate-keys</c>. Each prints what it did and returns an exit code.</summary>
public static class BuiltifulCommands
{
    public static bool IsCommand(string[] args) => args is ["migrate", ..] or ["rotate-keys", ..];

    public static async Task<int> RunAsync(string[] args, TextWriter output, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(output);
        var configuration = Configuration(args[1..]);
        if (PostgresDatabase.ConnectionString(configuration) is not { } connectionString)
        {
            await output.WriteLineAsync("ConnectionStrings:Builtiful is not set: give it as ConnectionStrings__Builtiful in the environment or --ConnectionStrings:Builtiful=...");
            return 2;
        }

        try
        {
            return args[0] switch
            {
                "migrate" => await MigrateAsync(connectionString, output, cancellationToken),
                _ => await RotateKeysAsync(connectionString, configuration, output, cancellationToken),
            };
        }
        catch (MigrationFailedException ex)
        {
            await output.WriteLineAsync(ex.Message);
            return 1;
        }
        catch (Microsoft.Extensions.Options.OptionsValidationException ex)
        {
            await output.WriteLineAsync(string.Join(Environment.NewLine, ex.Failures));
            return 2;
        }
        catch (Exception ex) when (ex is NpgsqlException or GrainStateSealException)
        {
            await output.WriteLineAsync($"{args[0]} failed: {ex.Message}");
            return 1;
        }
    }

    private static async Task<int> MigrateAsync(string connectionString, TextWriter output, CancellationToken cancellationToken)
    {
        var report = await new SchemaMigrator().MigrateAsync(connectionString, cancellationToken);
        await output.WriteLineAsync(report.Applied.Count == 0
            ? $"The schema is up to date ({report.Skipped.Count} migrations already applied)."
            : $"Applied {report.Applied.Count} migrations: {string.Join(", ", report.Applied)} ({report.Skipped.Count} already applied).");
        return 0;
    }

    private static async Task<int> RotateKeysAsync(string connectionString, IConfiguration configuration, TextWriter output, CancellationToken cancellationToken)
    {
        var services = new ServiceCollection()
            .AddLogging()
            .AddSerializer(serializer => serializer.AddAssembly(typeof(SealedState).Assembly));
        services.AddOptions<StorageEncryptionOptions>().Bind(configuration.GetSection(StorageEncryptionOptions.Section));
        services.AddSingleton<GrainStateCipher>();
        services.AddPostgresDataSource(connectionString);
        services.AddSingleton<KeyRotation>();
        await using var provider = services.BuildServiceProvider();
        var report = await provider.GetRequiredService<KeyRotation>().RotateAsync(cancellationToken);
        await output.WriteLineAsync($"Examined {report.Examined} grain state records; resealed {report.Resealed} under key '{report.ActiveKeyId}'; {report.Raced} were rewritten by their grains meanwhile.");
        return 0;
    }

    private static IConfiguration Configuration(string[] args) => new ConfigurationBuilder()
        .SetBasePath(AppContext.BaseDirectory)
        .AddJsonFile("appsettings.json", optional: true)
        .AddEnvironmentVariables()
        .AddCommandLine(args)
        .Build();
}
