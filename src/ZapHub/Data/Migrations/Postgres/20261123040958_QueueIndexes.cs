using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace ZapHub.Data.Migrations.Postgres
{
    /// <inheritdoc />
    public partial class QueueIndexes : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateIndex(
                name: "IX_Messages_InFlight",
                table: "Messages",
                column: "SessionId",
                filter: "\"Status\" = 'Sending'");

            migrationBuilder.CreateIndex(
                name: "IX_Messages_Leasable",
                table: "Messages",
                column: "DueAt",
                filter: "\"Status\" IN ('Queued', 'Scheduled', 'Held') AND \"LeaseOwner\" IS NULL");

            migrationBuilder.CreateIndex(
                name: "IX_Events_Unsequenced",
                table: "Events",
                column: "Id",
                filter: "\"Sequence\" IS NULL");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "IX_Messages_InFlight",
                table: "Messages");

            migrationBuilder.DropIndex(
                name: "IX_Messages_Leasable",
                table: "Messages");

            migrationBuilder.DropIndex(
                name: "IX_Events_Unsequenced",
                table: "Events");
        }
    }
}
