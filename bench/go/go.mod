module wynbench

go 1.19
