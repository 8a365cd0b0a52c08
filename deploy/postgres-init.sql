-- Evolution API keeps its own database beside ZapHub's, on the same server.
CREATE DATABASE evolution OWNER zaphub;
