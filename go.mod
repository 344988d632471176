module github.com/byol-lab/byol-lab

go 1.26
