using System.CommandLine;
using Builtiful.Hosting;
using Builtiful.Postgres;
using Builtiful.Silo.Storage;
using Npgsql;
using Orleans.Serialization;

namespace Builtiful.Silo;

/// <summary>
/// The production silo's command line: <c>run</c> (the default) and the maintenance commands <c>migrate</c> and
/// <c>rotate-keys</c>. Every other token is configuration (<c>--Section:Key=value</c>), as ASP.NET reads it.
/// </summary>
public static class BuiltifulCommands
{
    public static RootCommand Create()
    {
        var run = new Command("run", "Run the silo (the default): EC2, a GitHub App and PostgreSQL are required.") { TreatUnmatchedTokensAsErrors = false };
        run.SetAction(RunAsync);
        var migrate = new Command("migrate", "Create or upgrade the cluster's PostgreSQL schema (membership, grain state, reminders); a second run does nothing.")
        {
            TreatUnmatchedTokensAsErrors = false,
        };
        migrate.SetAction((parse, cancellationToken) => WithDatabaseAsync(parse, "migrate", (connectionString, _) => MigrateAsync(connectionString, parse.InvocationConfiguration.Output, cancellationToken)));
        var rotateKeys = new Command("rotate-keys", "Reseal every grain state record under Storage:ActiveKeyId.") { TreatUnmatchedTokensAsErrors = false };
        rotateKeys.SetAction((parse, cancellationToken) => WithDatabaseAsync(parse, "rotate-keys", (connectionString, configuration) => RotateKeysAsync(connectionString, configuration, parse.InvocationConfiguration.Output, cancellationToken)));

        var root = new RootCommand("Builtiful's production silo. Configuration comes from appsettings.json, the environment and --Section:Key=value arguments.")
        {
            TreatUnmatchedTokensAsErrors = false,
        };
        root.Subcommands.Add(run);
        root.Subcommands.Add(migrate);
        root.Subcommands.Add(rotateKeys);
        root.SetAction(RunAsync);
        return root;
    }

    public static Task<int> RunAsync(string[] args, TextWriter output, CancellationToken cancellationToken = default) =>
        Create().Parse(args).InvokeAsync(new InvocationConfiguration { Output = output, Error = output }, cancellationToken);

    /// <summary>Refuses, naming every missing key, unless the real providers are configured; otherwise runs until stopped.</summary>
    private static async Task<int> RunAsync(ParseResult parse, CancellationToken cancellationToken)
    {
        string[] args = [.. parse.UnmatchedTokens];
        var problems = ProductionRequirements.Problems(Configuration(args));
        if (problems.Count > 0)
        {
            var error = parse.InvocationConfiguration.Error;
            await error.WriteLineAsync("The production silo will not start:");
            foreach (var problem in problems)
            {
                await error.WriteLineAsync($"  {problem}");
            }

            await error.WriteLineAsync("For a local all-in-one with a simulated cloud and GitHub, run: dotnet run --project src/Builtiful.Embedded");
            return 2;
        }

        await ProductionSilo.Build(args).RunAsync(cancellationToken);
        return 0;
    }

    private static async Task<int> WithDatabaseAsync(ParseResult parse, string name, Func<string, IConfiguration, Task<int>> command)
    {
        var output = parse.InvocationConfiguration.Output;
        var configuration = Configuration([.. parse.UnmatchedTokens]);
        if (PostgresDatabase.ConnectionString(configuration) is not { } connectionString)
        {
            await output.WriteLineAsync($"{PostgresDatabase.ConnectionStringKey} is not set: give it as ConnectionStrings__Builtiful in the environment or --ConnectionStrings:Builtiful=...");
            return 2;
        }

        try
        {
            return await command(connectionString, configuration);
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
            await output.WriteLineAsync($"{name} failed: {ex.Message}");
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

    /// <summary>What the host would read: appsettings.json beside the program, the environment, then the arguments.</summary>
    private static IConfiguration Configuration(string[] args) => new ConfigurationBuilder()
        .SetBasePath(AppContext.BaseDirectory)
        .AddJsonFile("appsettings.json", optional: true)
        .AddEnvironmentVariables()
        .AddCommandLine(args)
        .Build();
}
