using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Metrics;
using Outbox.Configuration;
using Outbox.Core.Dispatch;
using Quartz;

namespace Outbox.Worker;

/// <summary>
/// `outbox run`: a generic host that runs as a console program, a systemd service
/// (Type=notify) or a Windows service, with Quartz firing the dispatch job every PollInterval.
/// </summary>
public static partial class WorkerHost
{
    public static async Task RunAsync(OutboxOptions options, bool verbose, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        var builder = new HostApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Logging.AddPrintableConsole(console =>
        {
            console.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ ";
            console.UseUtcTimestamp = true;
        });
        builder.Logging.SetMinimumLevel(verbose ? LogLevel.Debug : LogLevel.Information);
        builder.Logging.AddFilter("Quartz", LogLevel.Warning);
        // A service that cannot start is reported once, in one line, as the command's error.
        builder.Logging.AddFilter("Microsoft.Extensions.Hosting.Internal.Host", LogLevel.None);
        // Room for the pass to stop (Dispatch:StopTimeout) and record before the host gives up.
        builder.Services.Configure<HostOptions>(host => host.ShutdownTimeout = options.Dispatch.StopTimeout + TimeSpan.FromSeconds(20));
        builder.Services.AddSystemd();
        builder.Services.AddWindowsService(service => service.ServiceName = "outbox");

        var database = await OutboxDatabases.OpenAsync(options.Database, Storage.ConnectionUse.Worker, cancellationToken).ConfigureAwait(false);
        await using (database.ConfigureAwait(false))
        {
            builder.Services.AddSingleton(services => OutboxRuntime.CreateDispatcher(options, database, services.GetRequiredService<ILoggerFactory>()));
            builder.Services.AddSingleton(database);
            builder.Services.AddSingleton(options);
            builder.Services.AddSingleton(new WakeSignal(TimeProvider.System, options.Dispatch.PollInterval));
            builder.Services.AddSingleton(new WorkerHealth(TimeProvider.System));
            builder.Services.AddSingleton(new Storage.WorkerRecord(database, OutboxRuntime.WorkerName(options), options.Dispatch.PollInterval, TimeProvider.System));
            // Before Quartz's: stopped after it, once the last pass is over.
            builder.Services.AddHostedService<WorkerStop>();
            builder.Services.AddSingleton(services => new CopyGuard(database, services.GetRequiredService<ILogger<CopyGuard>>()));
            AddMonitoring(builder.Services, options);
            builder.Services.AddQuartz(quartz =>
            {
                quartz.ScheduleJob<DispatchJob>(
                    trigger => trigger
                        .WithIdentity("dispatch-poll", "outbox")
                        .StartNow()
                        .WithSchedule(SimpleScheduleBuilder.Create()
                            .WithInterval(options.Dispatch.PollInterval)
                            .RepeatForever()
                            // A pass that ran long is not followed by a burst of missed ones.
                            .WithMisfireInstruction(SimpleTriggerMisfireInstruction.NextWithRemainingCount)),
                    job => job.WithIdentity(DispatchJob.Key));
                if (options.Retention.KeepFor is not null || options.Retention.DraftsKeepFor is not null)
                {
                    quartz.ScheduleJob<PurgeJob>(
                        trigger => trigger.WithIdentity("purge-schedule", "outbox").WithCronSchedule(options.Retention.Schedule),
                        job => job.WithIdentity(PurgeJob.Key));
                }
            });
            // On stop, the running pass stops (DispatchJob) and Quartz waits for it.
            builder.Services.AddQuartzHostedService(quartz => quartz.WaitForJobsToComplete = true);
            builder.Services.AddHostedService<NewMailListener>();

            using var host = builder.Build();
            LogConfiguration(host.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Outbox.Configuration"), options);
            await host.StartAsync(cancellationToken).ConfigureAwait(false);
            await host.WaitForShutdownAsync(cancellationToken).ConfigureAwait(false);
            ThrowIfAServiceFailed(host.Services);
        }
    }

    // The host stops when a background service fails, and returns as if asked to: the failure
    // must become the exit code, or systemd's Restart=on-failure would not restart the worker.
    private static void ThrowIfAServiceFailed(IServiceProvider services)
    {
        var failed = services.GetServices<IHostedService>().OfType<BackgroundService>().FirstOrDefault(s => s.ExecuteTask is { IsFaulted: true });
        if (failed?.ExecuteTask?.Exception?.GetBaseException() is { } reason)
        {
            throw new WorkerFailedException($"the worker stopped: {failed.GetType().Name} failed ({reason.Message})", reason);
        }
    }

    private static void AddMonitoring(IServiceCollection services, OutboxOptions options)
    {
        if (options.Monitoring.PrometheusUrl is { Length: > 0 })
        {
            services.AddHostedService<QueueGauges>();
            services.AddOpenTelemetry().WithMetrics(metrics => metrics.AddMeter(OutboxMetrics.MeterName).AddPrometheusExporter());
        }

        if (options.Monitoring.HealthUrl is { Length: > 0 } || options.Monitoring.PrometheusUrl is { Length: > 0 })
        {
            services.AddHostedService<MonitoringEndpoints>();
        }

        if (options.Dashboard.Url is { Length: > 0 })
        {
            services.AddHostedService<Dashboard.DashboardService>();
        }
    }

    // One line at start, so the log of every run says what it ran with (secrets redacted).
    private static void LogConfiguration(ILogger logger, OutboxOptions options)
    {
        var text = new ConfigurationText(options);
        LogEffectiveConfiguration(logger, text);
        var transport = OutboxRuntime.DescribeTransport(options);
        if (options.Safety.IsActive())
        {
            LogTransportNotAsAddressed(logger, transport);
        }
        else
        {
            LogTransport(logger, transport);
        }
    }

    // Loud: mail does not go where its senders addressed it (Outbox:Safety).
    [LoggerMessage(Level = LogLevel.Warning, Message = "Mail goes by {Transport}")]
    private static partial void LogTransportNotAsAddressed(ILogger logger, string transport);

    [LoggerMessage(Level = LogLevel.Information, Message = "Mail goes by {Transport}")]
    private static partial void LogTransport(ILogger logger, string transport);

    [LoggerMessage(Level = LogLevel.Information, Message = "Starting with {Configuration}")]
    private static partial void LogEffectiveConfiguration(ILogger logger, ConfigurationText configuration);

    // Formatted only when the line is written.
    private sealed record ConfigurationText(OutboxOptions Options)
    {
        public override string ToString() => string.Join("; ", EffectiveConfiguration.Describe(Options).Select(e => $"{e.Key}={e.Text}"));
    }
}
